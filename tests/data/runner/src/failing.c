// SPDX-License-Identifier: GPL-2.0
/* A failing test in kselftest style: diagnostics, a KVM-style assertion
 * banner on stderr, "not ok" and exit status 1. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <linux/kvm.h>

int main(void)
{
	int kvm = open("/dev/kvm", O_RDWR);
	int r = ioctl(kvm, KVM_CHECK_EXTENSION, 0x7fffffff);

	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("TAP version 13\n1..3\n");
	printf("# KVM_CHECK_EXTENSION(unknown cap) = %d\n", r);
	printf("ok 1 unknown_cap_reports_zero\n");
	printf("# expected r=-1, errno=EINVAL\n");
	printf("not ok 2 deliberately_wrong_expectation\n");
	fprintf(stderr, "==== Test Assertion Failure ====\n");
	fprintf(stderr, "  failing.c:27: r == -1\n");
	fprintf(stderr, "  Unexpected result: r=%d, errno=%d\n", r, errno);
	printf("not ok 3 known_bug # TODO fixed upstream later\n");
	printf("# Totals: pass:1 fail:1 xfail:1 xpass:0 skip:0 error:0\n");
	return 1;
}
