// SPDX-License-Identifier: GPL-2.0
/* Panics the kernel on purpose (sysrq 'c') after one result. */
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

int main(void)
{
	int fd;

	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("KTAP version 1\n1..2\n");
	printf("ok 1 before_the_crash\n");
	fd = open("/proc/sysrq-trigger", O_WRONLY);
	if (fd < 0 || write(fd, "c", 1) != 1)
		printf("not ok 2 crash # could not trigger sysrq\n");
	return 1;
}
