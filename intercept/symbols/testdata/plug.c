// plug is the shared library addrs dlopen()s in the tracker tests.
int plug_var = 42;

int plug_fn(int x) {
	return x + plug_var; // LINE(plug)
}
