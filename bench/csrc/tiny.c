// tiny: the smallest program, for the fixed cost of one run (process
// creation, exec, the dynamic loader or static start-up, exit). Built twice:
// dynamically linked against glibc and with -static.
int main(void) { return 0; }
