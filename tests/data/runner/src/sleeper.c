// SPDX-License-Identifier: GPL-2.0
/* Starts a plan and then hangs: the guest's per-test timeout must kill it. */
#include <stdio.h>
#include <unistd.h>

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("KTAP version 1\n1..2\n");
	printf("ok 1 before_the_hang\n");
	for (;;)
		pause();
}
