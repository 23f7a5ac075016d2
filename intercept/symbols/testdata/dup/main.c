// Two source files with the same base name (x/same.c, y/same.c) in one
// binary: a bare "same.c:N" is ambiguous.
int fx(int);
int fy(int);

int main(void) { return fx(1) + fy(2) == 3 ? 0 : 1; }
