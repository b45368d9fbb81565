// SPDX-License-Identifier: GPL-2.0
/*
 * platform_mte - does the platform (emulator + kernel) store MTE allocation
 * tags faithfully?  Run before any conformance test: a kernel cannot be
 * blamed for tags the emulator lost.
 *
 * 1. userspace: a PROT_MTE mapping, a different tag per 16-byte granule
 *    written with STG and read back with LDG; then one uniform tag.
 * 2. KVM: a VM with KVM_CAP_ARM_MTE, one memslot of anonymous memory, tags
 *    written with KVM_ARM_MTE_COPY_TAGS (TO_GUEST) and read back (FROM_GUEST);
 *    a per-granule pattern and a uniform one.
 *
 * QEMU 7.2 loses per-granule tags in the nested setup (uniform tags happen to
 * survive), so the per-granule checks fail there while the uniform ones
 * pass.  Output is KTAP; "# fact key=value" lines report what was seen.
 * Exit status: 0 all passed or skipped, 1 a check failed.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <unistd.h>
#include <linux/kvm.h>

#ifndef PROT_MTE
#define PROT_MTE		0x20
#endif
#ifndef HWCAP2_MTE
#define HWCAP2_MTE		(1 << 18)
#endif

#define GRANULE			16
#define NPAGES			4
#define MEMSLOT_IPA		0x80000000ULL
#define MAX_REPORTED		4
#define NTESTS			5

static int test_no;
static int failed;

static void result(int ok, const char *name, const char *fmt, ...)
{
	va_list ap;

	printf("%s %d %s", ok ? "ok" : "not ok", ++test_no, name);
	if (fmt) {
		printf(" # ");
		va_start(ap, fmt);
		vprintf(fmt, ap);
		va_end(ap);
	}
	printf("\n");
	if (!ok)
		failed = 1;
}

static void skip(const char *name, const char *reason)
{
	printf("ok %d %s # SKIP %s\n", ++test_no, name, reason);
}

/* Tag for granule i of a "distinct" pattern: neighbours always differ. */
static uint8_t distinct_tag(size_t i)
{
	return (uint8_t)((i * 5 + 1) & 0xf);
}

static void stg(uintptr_t tagged)
{
	asm volatile("stg %0, [%0]" : : "r"(tagged) : "memory");
}

static uint8_t ldg(uintptr_t addr)
{
	uintptr_t r = addr;

	asm volatile("ldg %0, [%0]" : "+r"(r) : : "memory");
	return (uint8_t)((r >> 56) & 0xf);
}

/* Tag every granule of buf, read the tags back; return mismatch count. */
static size_t userspace_round_trip(char *buf, size_t len, int uniform)
{
	size_t i, bad = 0, n = len / GRANULE;

	for (i = 0; i < n; i++) {
		uintptr_t p = (uintptr_t)(buf + i * GRANULE);
		uint8_t tag = uniform ? 0xa : distinct_tag(i);

		stg(p | ((uintptr_t)tag << 56));
	}
	for (i = 0; i < n; i++) {
		uint8_t want = uniform ? 0xa : distinct_tag(i);
		uint8_t got = ldg((uintptr_t)(buf + i * GRANULE));

		if (got != want && bad++ < MAX_REPORTED)
			printf("# granule %zu: wrote tag %#x, read %#x\n",
			       i, want, got);
	}
	return bad;
}

static void check_userspace(long page)
{
	size_t len = NPAGES * page, bad;
	char *buf;

	if (!(getauxval(AT_HWCAP2) & HWCAP2_MTE)) {
		skip("userspace_mte_distinct_tags", "no MTE (HWCAP2_MTE clear)");
		skip("userspace_mte_uniform_tags", "no MTE (HWCAP2_MTE clear)");
		return;
	}
	if (prctl(PR_SET_TAGGED_ADDR_CTRL, PR_TAGGED_ADDR_ENABLE |
		  PR_MTE_TCF_SYNC | (0xfffeUL << PR_MTE_TAG_SHIFT), 0, 0, 0)) {
		result(0, "userspace_mte_distinct_tags",
		       "prctl(PR_SET_TAGGED_ADDR_CTRL) errno=%d", errno);
		result(0, "userspace_mte_uniform_tags", "no tagged addressing");
		return;
	}
	buf = mmap(NULL, len, PROT_READ | PROT_WRITE | PROT_MTE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (buf == MAP_FAILED) {
		result(0, "userspace_mte_distinct_tags",
		       "mmap(PROT_MTE) errno=%d", errno);
		result(0, "userspace_mte_uniform_tags", "no PROT_MTE mapping");
		return;
	}
	bad = userspace_round_trip(buf, len, 0);
	result(!bad, "userspace_mte_distinct_tags", bad ?
	       "%zu of %zu granules read back a wrong tag" : NULL,
	       bad, len / GRANULE);
	bad = userspace_round_trip(buf, len, 1);
	result(!bad, "userspace_mte_uniform_tags", bad ?
	       "%zu of %zu granules read back a wrong tag" : NULL,
	       bad, len / GRANULE);
	munmap(buf, len);
}

/* Copy tags into the guest and back; return mismatch count or -1. */
static long kvm_round_trip(int vm, size_t len, int uniform)
{
	size_t i, n = len / GRANULE;
	long bad = 0;
	uint8_t *in = malloc(n), *out = malloc(n);
	struct kvm_arm_copy_mte_tags copy = {
		.guest_ipa = MEMSLOT_IPA,
		.length = len,
	};
	long r;

	for (i = 0; i < n; i++) {
		in[i] = uniform ? 0x5 : distinct_tag(i);
		out[i] = 0xff;
	}
	copy.addr = in;
	copy.flags = KVM_ARM_TAGS_TO_GUEST;
	r = ioctl(vm, KVM_ARM_MTE_COPY_TAGS, &copy);
	if (r != (long)len) {
		printf("# COPY_TAGS TO_GUEST: r=%ld errno=%d\n", r, errno);
		bad = -1;
		goto out;
	}
	copy.addr = out;
	copy.flags = KVM_ARM_TAGS_FROM_GUEST;
	r = ioctl(vm, KVM_ARM_MTE_COPY_TAGS, &copy);
	if (r != (long)len) {
		printf("# COPY_TAGS FROM_GUEST: r=%ld errno=%d\n", r, errno);
		bad = -1;
		goto out;
	}
	for (i = 0; i < n; i++)
		if ((out[i] & 0xf) != in[i] && bad++ < MAX_REPORTED)
			printf("# granule %zu: wrote tag %#x, read %#x\n",
			       i, in[i], out[i]);
out:
	free(in);
	free(out);
	return bad;
}

static void kvm_copy_result(int vm, size_t len, int uniform)
{
	const char *name = uniform ? "kvm_mte_copy_tags_uniform" :
				     "kvm_mte_copy_tags_distinct";
	long bad = kvm_round_trip(vm, len, uniform);

	if (bad < 0)
		result(0, name, "KVM_ARM_MTE_COPY_TAGS failed");
	else
		result(!bad, name, bad ?
		       "%ld of %zu granules read back a wrong tag" : NULL,
		       bad, len / GRANULE);
}

static void skip_kvm(int from, const char *reason)
{
	static const char *const names[] = {
		"kvm_cap_arm_mte", "kvm_mte_copy_tags_distinct",
		"kvm_mte_copy_tags_uniform",
	};
	int i;

	for (i = from; i < 3; i++)
		skip(names[i], reason);
}

static void check_kvm(long page)
{
	struct kvm_enable_cap cap = { .cap = KVM_CAP_ARM_MTE };
	struct kvm_userspace_memory_region slot = {
		.slot = 0,
		.guest_phys_addr = MEMSLOT_IPA,
		.memory_size = NPAGES * page,
	};
	int kvm, vm, has;
	void *mem;

	kvm = open("/dev/kvm", O_RDWR);
	printf("# fact dev_kvm=%d\n", kvm >= 0);
	if (kvm < 0) {
		skip_kvm(0, "no /dev/kvm");
		return;
	}
	printf("# fact kvm_api_version=%d\n", ioctl(kvm, KVM_GET_API_VERSION, 0));
	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm < 0) {
		result(0, "kvm_cap_arm_mte", "KVM_CREATE_VM errno=%d", errno);
		skip_kvm(1, "no VM");
		return;
	}
	has = ioctl(vm, KVM_CHECK_EXTENSION, KVM_CAP_ARM_MTE);
	printf("# fact kvm_cap_arm_mte=%d\n", has);
	if (has <= 0) {
		skip_kvm(0, "KVM_CAP_ARM_MTE not offered");
		return;
	}
	if (ioctl(vm, KVM_ENABLE_CAP, &cap)) {
		result(0, "kvm_cap_arm_mte", "KVM_ENABLE_CAP errno=%d", errno);
		skip_kvm(1, "MTE not enabled in the VM");
		return;
	}
	result(1, "kvm_cap_arm_mte", NULL);
	mem = mmap(NULL, slot.memory_size, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED) {
		result(0, "kvm_mte_copy_tags_distinct", "mmap errno=%d", errno);
		result(0, "kvm_mte_copy_tags_uniform", "no guest memory");
		return;
	}
	slot.userspace_addr = (uintptr_t)mem;
	if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &slot)) {
		result(0, "kvm_mte_copy_tags_distinct",
		       "KVM_SET_USER_MEMORY_REGION errno=%d", errno);
		result(0, "kvm_mte_copy_tags_uniform", "no memslot");
		return;
	}
	kvm_copy_result(vm, slot.memory_size, 0);
	kvm_copy_result(vm, slot.memory_size, 1);
	close(vm);
	close(kvm);
}

int main(void)
{
	long page = sysconf(_SC_PAGESIZE);

	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("KTAP version 1\n1..%d\n", NTESTS);
	printf("# fact page_size=%ld\n", page);
	printf("# fact hwcap2_mte=%d\n", !!(getauxval(AT_HWCAP2) & HWCAP2_MTE));
	printf("# fact btf_vmlinux=%d\n",
	       access("/sys/kernel/btf/vmlinux", R_OK) == 0);
	check_userspace(page);
	check_kvm(page);
	return failed;
}
