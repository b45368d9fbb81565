/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kconform runtime types: the case table's structs (struct kc_case,
 * kc_step, kc_env, ...) and the small helpers every part of the runtime
 * uses.  The enums of the case IR come from kconform_steps.h, generated
 * from generator/model/case.py.  Hand-written; self-contained.
 */
#ifndef KCONFORM_TYPES_H
#define KCONFORM_TYPES_H

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <dirent.h>
#include <pthread.h>
#include <unistd.h>
#include <linux/kvm.h>
#include "kconform_steps.h"

#define KC_MAX_STEPS	8
#ifndef KC_MAX_FIELDS		/* a spec whose argument has more fields defines it */
#define KC_MAX_FIELDS	8
#endif
#define KC_MAX_SLOTS	4
#define KC_MAX_REGS	4
#define KC_SENTINEL	0xa5
#define KC_EXIT_PASS	0
#define KC_EXIT_FAIL	1
#define KC_EXIT_SKIP	4

/* pages * page_size + bytes, divided by div (0 means 1) */
struct kc_val {
	int64_t pages;
	int64_t bytes;
	uint32_t div;
	int host;		/* KC_HOST_*: a value the host gives at run time */
};

#define KC_HOST_PMU_TYPE	1	/* perf type of the host's arm PMU */
#define KC_HOST_PMU_TYPE_OTHER	2	/* perf type of a second one (host profile
					 * two-pmus, specs/host-features.yaml) */



struct kc_buffer {
	int present;
	struct kc_val length;	/* bytes the operation may touch */
	struct kc_val valid;	/* bytes mapped before a guard page */
	enum kc_fill fill;
	unsigned int seed;
};

struct kc_step {
	enum kc_step_kind kind;
	int op;				/* index in the ops table */
	uint64_t cap;
	uint64_t flags;
	uint64_t args[4];
	uint32_t slot;
	struct kc_val guest_ipa;
	uint64_t pages;
	struct kc_val v[KC_MAX_FIELDS];	/* argument fields, op's order */
	enum kc_argp argp;
	struct kc_buffer buf;
	uint64_t reg;			/* KVM_{GET,SET}_ONE_REG id */
	uint32_t shift, width;		/* field of the value reported */
	uint64_t regs[KC_MAX_REGS];	/* KC_REG_LIST: ids looked for */
	uint32_t gop;			/* KC_GUEST: enum kg_op */
	struct kc_val gargs[3];		/* ... its arguments */
	uint32_t report;		/* ... what ret is (enum kc_report) */
	int vcpu_init;			/* KC_CREATE_VCPU: KVM_ARM_VCPU_INIT after it */
	uint64_t features;		/* ... with these feature bits (also KC_VCPU_START) */
	const char *feature_names;	/* ... named so (a skip says which) */
	int on_vcpu;			/* KC_VM_IOCTL, KC_READ_BACK: on the last vCPU created */
	uint32_t dtype;			/* KC_CREATE_DEVICE: enum kvm_device_type */
	unsigned long rb_request;	/* KC_READ_BACK: the GET ioctl */
	int rb_field;			/* ... the field of the op's struct it reports */
	struct {			/* KC_RUN_FIELD: a kvm_run member */
		size_t off, size;	/* size 0: the guest call's x0 */
		uint64_t mask;		/* ret = value & mask (0: all of it) */
	} rfield;
	struct {			/* KC_DEVICE_ATTR */
		unsigned long req;	/* KVM_{SET,GET,HAS}_DEVICE_ATTR */
		int on_vcpu;		/* the last vCPU created, else the VM */
		uint64_t group, attr;
		struct kc_val value;	/* the u64 at attr.addr */
		enum kc_argp addrp;	/* attr.addr valid or unmapped */
		int vstruct;		/* attr.addr: ops[op]'s struct, filled from v[] */
	} dattr;
	struct {			/* KC_{GET,SET}_ONE_REG, KC_REG_LIST of a spec's register */
		int direct;		/* the last vCPU created, not the guest runtime's */
		struct kc_val value;	/* the u64 at reg.addr (KC_REG_LIST: n) */
		enum kc_argp addrp;	/* reg.addr valid or unmapped */
		int n_set;		/* KC_REG_LIST: one call with n = value */
	} oreg;
};

struct kc_case {
	const char *id;
	int requires;			/* 1: needs requires_cap > 0; 2: >= 0 */
	uint64_t requires_cap;
	const char *skip_reason;
	int nsteps;
	struct kc_step steps[KC_MAX_STEPS];
};

struct kc_op {
	const char *name;
	unsigned long request;
	size_t arg_size;
	void (*fill)(void *arg, const uint64_t *v, void *buf);
	int by_value;			/* the ioctl's argument is v[0] itself */
	uint64_t (*read)(const void *arg, int i);	/* field i of the struct */
};

struct kc_binding {
	const char *name;
	uint64_t number;
	const char *how;		/* "patch" or "header" */
};

struct kc_env {
	long page_size;
	int kvm_fd;
	int vm_fd;
	int vcpus[KC_MAX_STEPS];
	int nvcpus;
	void *slot_mem[KC_MAX_SLOTS];
	size_t slot_len[KC_MAX_SLOTS];
	int guest_fd;			/* vCPU started by KC_VCPU_START */
	struct kvm_run *run;
	size_t run_size;
	const char *case_id;
	char why[256];			/* why a step failed or skipped */
	int caps_dropped;		/* KC_DROP_CAPABILITY: raise them at teardown */
	pthread_t spin;			/* KC_VCPU_IN_RUN: the thread inside KVM_RUN */
	int spinning;
};

/* KC_HOST_PMU_TYPE: the `type` of the first event source under
 * /sys/bus/event_source/devices with a `cpus` file (an arm_pmu), in
 * directory order; KC_HOST_PMU_TYPE_OTHER: the second one's (a host with
 * one PMU per cluster); -1 when the host has no such PMU */
static inline int64_t kc_host_value(int which)
{
	static int64_t pmu_types[2] = { -2, -2 };
	char path[320];
	struct dirent *e;
	DIR *d;
	FILE *f;
	long t;
	int n = 0;

	if (which != KC_HOST_PMU_TYPE && which != KC_HOST_PMU_TYPE_OTHER)
		return -1;
	if (pmu_types[0] != -2)
		return pmu_types[which - KC_HOST_PMU_TYPE];
	pmu_types[0] = pmu_types[1] = -1;
	d = opendir("/sys/bus/event_source/devices");
	while (d && n < 2 && (e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/sys/bus/event_source/devices/%s/cpus",
			 e->d_name);
		if (access(path, R_OK))
			continue;
		snprintf(path, sizeof(path), "/sys/bus/event_source/devices/%s/type",
			 e->d_name);
		f = fopen(path, "r");
		if (f && fscanf(f, "%ld", &t) == 1 && t >= 0)
			pmu_types[n++] = t;
		if (f)
			fclose(f);
	}
	if (d)
		closedir(d);
	return pmu_types[which - KC_HOST_PMU_TYPE];
}

/* what a host lacks when kc_host_value(which) is -1 (the case is skipped) */
static inline const char *kc_host_value_need(int which)
{
	if (which == KC_HOST_PMU_TYPE_OTHER)
		return "second arm PMU (event source with a cpus file): the case "
		       "runs on host profile two-pmus (specs/host-features.yaml)";
	return "arm PMU (event source with a cpus file)";
}

static inline uint64_t kc_resolve(const struct kc_env *env, struct kc_val v)
{
	if (v.host)
		return (uint64_t)kc_host_value(v.host);
	int64_t n = v.pages * env->page_size + v.bytes;

	return (uint64_t)n / (v.div ? v.div : 1);
}

/* the tag of granule i in a PATTERN fill (reference: vmstate.pattern_byte) */
static inline unsigned char kc_pattern(uint64_t i, unsigned int seed)
{
	return (unsigned char)((i * 7 + (i >> 4) + seed * 5) & 0xf);
}

static inline uint64_t kc_fnv1a64(const unsigned char *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	size_t i;

	for (i = 0; i < n; i++) {
		h ^= p[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

static inline const char *kc_errno_name(int e)
{
	static const struct { int e; const char *name; } names[] = {
		{ EPERM, "EPERM" }, { ENOENT, "ENOENT" }, { EINTR, "EINTR" },
		{ EIO, "EIO" }, { ENXIO, "ENXIO" }, { E2BIG, "E2BIG" },
		{ EBADF, "EBADF" }, { EAGAIN, "EAGAIN" }, { ENOMEM, "ENOMEM" },
		{ EACCES, "EACCES" }, { EFAULT, "EFAULT" }, { EBUSY, "EBUSY" },
		{ EEXIST, "EEXIST" }, { ENODEV, "ENODEV" }, { EINVAL, "EINVAL" },
		{ ENOSPC, "ENOSPC" }, { ERANGE, "ERANGE" }, { ENOTTY, "ENOTTY" },
		{ ENOSYS, "ENOSYS" }, { EOPNOTSUPP, "EOPNOTSUPP" },
		{ EOVERFLOW, "EOVERFLOW" },
		{ ESRCH, "ESRCH" }, { ENOEXEC, "ENOEXEC" }, { ECHILD, "ECHILD" },
		{ EXDEV, "EXDEV" }, { ENOTDIR, "ENOTDIR" }, { EISDIR, "EISDIR" },
		{ ENFILE, "ENFILE" }, { EMFILE, "EMFILE" }, { EFBIG, "EFBIG" },
		{ ESPIPE, "ESPIPE" }, { EROFS, "EROFS" }, { EMLINK, "EMLINK" },
		{ EPIPE, "EPIPE" }, { EDOM, "EDOM" }, { EDEADLK, "EDEADLK" },
		{ ENAMETOOLONG, "ENAMETOOLONG" }, { ENOLCK, "ENOLCK" }, { ENOTEMPTY, "ENOTEMPTY" },
		{ ELOOP, "ELOOP" }, { ENOMSG, "ENOMSG" }, { EIDRM, "EIDRM" },
		{ ENODATA, "ENODATA" }, { ETIME, "ETIME" }, { EPROTO, "EPROTO" },
		{ EBADMSG, "EBADMSG" }, { ENOBUFS, "ENOBUFS" }, { ETIMEDOUT, "ETIMEDOUT" },
		{ EALREADY, "EALREADY" }, { EINPROGRESS, "EINPROGRESS" }, { ECANCELED, "ECANCELED" },
	};
	static char other[16];
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].e == e)
			return names[i].name;
	snprintf(other, sizeof(other), "E%d", e);
	return other;
}


/* `len` bytes that end exactly where a PROT_NONE guard page begins */
struct kc_map {
	unsigned char *p;
	void *base;
	size_t total;
};

/* KVM_GET_REG_LIST of vCPU `fd` with room for `n` ids: bit k of the
 * result set when regs[k] (up to KC_MAX_REGS, 0-terminated) is listed;
 * the call's result when the list cannot be read */
static inline long kc_listed(int fd, uint64_t n, const uint64_t *regs)
{
	struct kvm_reg_list *list;
	long ret, mask = 0;
	uint64_t i;
	int k;

	list = calloc(1, sizeof(*list) + n * sizeof(__u64));
	if (!list)
		return -1;
	list->n = n;
	ret = ioctl(fd, KVM_GET_REG_LIST, list);
	if (ret < 0) {
		free(list);
		return ret;
	}
	for (k = 0; k < KC_MAX_REGS && regs[k]; k++)
		for (i = 0; i < list->n; i++)
			if (list->reg[i] == regs[k])
				mask |= 1L << k;
	free(list);
	return mask;
}

static inline int kc_map_guarded(const struct kc_env *env, size_t len,
			  struct kc_map *m)
{
	size_t ps = (size_t)env->page_size;
	size_t body = (len + ps - 1) / ps * ps;

	m->total = body + ps;
	m->base = mmap(NULL, m->total, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m->base == MAP_FAILED)
		return -1;
	if (mprotect((unsigned char *)m->base + body, ps, PROT_NONE)) {
		munmap(m->base, m->total);
		return -1;
	}
	m->p = (unsigned char *)m->base + body - len;
	return 0;
}

#endif
