// x/same.c
int fx(int a) {
	return a;
}
