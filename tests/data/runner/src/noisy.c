// SPDX-License-Identifier: GPL-2.0
/* KTAP interleaved with kernel console messages: writes KERN_ERR records to
 * /dev/kmsg between result lines and in the middle of one. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void kmsg(int fd, const char *msg)
{
	if (fd >= 0 && write(fd, msg, strlen(msg)) < 0)
		perror("kmsg");
	usleep(20000);
}

int main(void)
{
	int fd = open("/dev/kmsg", O_WRONLY);

	setvbuf(stdout, NULL, _IONBF, 0);
	printf("KTAP version 1\n1..3\n");
	kmsg(fd, "<3>kconform-noise: before the first result\n");
	printf("ok 1 first\n");
	printf("# about to be interrupted\n");
	printf("ok 2 sec");
	kmsg(fd, "<3>kconform-noise: in the middle of a line\n");
	printf("ond\n");
	kmsg(fd, "<3>kconform-noise: after the second result\n");
	printf("ok 3 third\n");
	return 0;
}
