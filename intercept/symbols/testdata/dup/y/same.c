// y/same.c
int fy(int a) {
	return a * 1;
}
