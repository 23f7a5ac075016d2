long add(long a, long b);
long mul(long a, long b);
void show(const char *what, long v);
