#include <stdio.h>
#include "calc.h"
void show(const char *what, long v) { printf("%s = %ld\n", what, v); }
