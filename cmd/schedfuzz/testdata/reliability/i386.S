/* i386.S - a static 32-bit program that exits 0 (built with gcc -m32
 * -nostdlib -static: no 32-bit libc needed). */
	.globl _start
_start:
	movl $1, %eax
	xorl %ebx, %ebx
	int $0x80
