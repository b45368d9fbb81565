/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kconform runtime: runs a table of cases against /dev/kvm and prints KTAP.
 *
 * Hand-written; included by every generated kconform_<spec>.c, which
 * provides the case table (designated initialisers) and one fill function
 * per ioctl argument struct.  The runtime never judges what the kernel
 * returned: every step prints what it observed on a diagnostic line
 *
 *   # kconform: case=<id> step=<n> kind=<kind> ret=<r> errno=<NAME|-> digest=<hex|->
 *
 * and the cross-check compares those lines with the reference model.  A
 * case is "ok" when all its observations were made, "not ok" when the
 * harness itself failed (mmap, open), "SKIP" when the kernel does not
 * report a capability the case needs.  Sizes are pages + bytes resolved
 * with sysconf(_SC_PAGESIZE) at run time.
 */
#ifndef KCONFORM_RUNTIME_H
#define KCONFORM_RUNTIME_H

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <linux/kvm.h>

#define KC_MAX_STEPS	8
#define KC_MAX_FIELDS	8
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
};

enum kc_step_kind {
	KC_CREATE_VM = 1,
	KC_CHECK_EXTENSION,
	KC_ENABLE_CAP,
	KC_CREATE_VCPU,
	KC_ADD_MEMSLOT,
	KC_VM_IOCTL,
	KC_VCPU_START,		/* vCPU with the guest image (kconform_vcpu.h) */
	KC_GET_ONE_REG,
	KC_SET_ONE_REG,
	KC_REG_LIST,
	KC_GUEST,		/* one guest command */
	KC_PAGEOUT,		/* MADV_PAGEOUT of a memslot's mapping */
};

enum kc_argp { KC_ARG_VALID, KC_ARG_UNMAPPED };

/* KC_GUEST: the command (enum kg_op of templates/guest/kconform_guest_abi.h) */
enum kc_guest_op { KC_GOP_MRS = 1, KC_GOP_STG, KC_GOP_LDG };

/* KC_GUEST: what the step reports as its `ret` */
enum kc_report {
	KC_REPORT_FIELD = 0,	/* (value >> shift) & mask(width); -1 on fault */
	KC_REPORT_ACCESS,	/* 1 read completed, 0 UNDEF, -1 other fault */
	KC_REPORT_TCO,		/* PSTATE.TCO on exception entry; -1 none */
	KC_REPORT_TAGS,		/* granules read; digest of the tags */
	KC_REPORT_COUNT,	/* the command's result as is */
};
enum kc_fill { KC_FILL_SENTINEL, KC_FILL_PATTERN };

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
};

struct kc_case {
	const char *id;
	int requires;			/* needs requires_cap reported */
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
};

static inline uint64_t kc_resolve(const struct kc_env *env, struct kc_val v)
{
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
	};
	static char other[16];
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].e == e)
			return names[i].name;
	snprintf(other, sizeof(other), "E%d", e);
	return other;
}

static inline const char *kc_kind_name(enum kc_step_kind k)
{
	switch (k) {
	case KC_CREATE_VM: return "create_vm";
	case KC_CHECK_EXTENSION: return "check_extension";
	case KC_ENABLE_CAP: return "enable_cap";
	case KC_CREATE_VCPU: return "create_vcpu";
	case KC_ADD_MEMSLOT: return "add_memslot";
	case KC_VM_IOCTL: return "vm_ioctl";
	case KC_VCPU_START: return "vcpu_start";
	case KC_GET_ONE_REG: return "get_one_reg";
	case KC_SET_ONE_REG: return "set_one_reg";
	case KC_REG_LIST: return "reg_list";
	case KC_GUEST: return "guest";
	case KC_PAGEOUT: return "pageout";
	}
	return "unknown";
}

/* `len` bytes that end exactly where a PROT_NONE guard page begins */
struct kc_map {
	unsigned char *p;
	void *base;
	size_t total;
};

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

#ifdef KC_WITH_GUEST
#include "kconform_vcpu.h"
#endif

/* runs one ioctl step; returns 0, or -1 when the harness failed */
static inline int kc_vm_ioctl(struct kc_env *env, const struct kc_op *op,
		       const struct kc_step *s, long *ret, int *err,
		       uint64_t *digest, int *has_digest)
{
	struct kc_map arg, buf = { NULL, NULL, 0 };
	uint64_t v[KC_MAX_FIELDS];
	size_t len = 0, valid = 0, i;
	int k;

	for (k = 0; k < KC_MAX_FIELDS; k++)
		v[k] = kc_resolve(env, s->v[k]);
	if (kc_map_guarded(env, op->arg_size, &arg))
		return -1;
	if (s->buf.present) {
		len = kc_resolve(env, s->buf.length);
		valid = kc_resolve(env, s->buf.valid);
		if (kc_map_guarded(env, valid, &buf)) {
			munmap(arg.base, arg.total);
			return -1;
		}
		for (i = 0; i < valid; i++)
			buf.p[i] = s->buf.fill == KC_FILL_PATTERN ?
				   kc_pattern(i, s->buf.seed) : KC_SENTINEL;
	}
	memset(arg.p, 0, op->arg_size);
	op->fill(arg.p, v, buf.p);
	errno = 0;
	*ret = ioctl(env->vm_fd, op->request,
		     s->argp == KC_ARG_VALID ? arg.p : arg.p + op->arg_size);
	*err = *ret < 0 ? errno : 0;
	if (s->buf.present) {
		*has_digest = 1;
		*digest = kc_fnv1a64(buf.p, len < valid ? len : valid);
		munmap(buf.base, buf.total);
	}
	munmap(arg.base, arg.total);
	return 0;
}

/* 0 observed, 1 the case cannot run here (env->why), -1 harness failed */
static inline int kc_step(struct kc_env *env, const struct kc_op *ops,
		   const struct kc_case *c, int n)
{
	const struct kc_step *s = &c->steps[n];
	struct kvm_userspace_memory_region region;
	struct kvm_enable_cap ec;
	uint64_t digest = 0;
	int has_digest = 0, err = 0;
	long ret = 0;
	int rc = 0;

	errno = 0;
	env->why[0] = 0;
	switch (s->kind) {
	case KC_CREATE_VM:
		ret = ioctl(env->kvm_fd, KVM_CREATE_VM, 0);
		env->vm_fd = (int)ret;
		break;
	case KC_CHECK_EXTENSION:
		ret = ioctl(env->vm_fd, KVM_CHECK_EXTENSION, s->cap);
		break;
	case KC_ENABLE_CAP:
		memset(&ec, 0, sizeof(ec));
		ec.cap = (__u32)s->cap;
		ec.flags = (__u32)s->flags;
		memcpy(ec.args, s->args, sizeof(ec.args));
		ret = ioctl(env->vm_fd, KVM_ENABLE_CAP, &ec);
		break;
	case KC_CREATE_VCPU:
		ret = ioctl(env->vm_fd, KVM_CREATE_VCPU, env->nvcpus);
		if (ret >= 0)
			env->vcpus[env->nvcpus++] = (int)ret;
		break;
	case KC_ADD_MEMSLOT:
		if (s->slot >= KC_MAX_SLOTS || env->slot_mem[s->slot])
			return -1;
		env->slot_len[s->slot] = s->pages * env->page_size;
		env->slot_mem[s->slot] = mmap(NULL, env->slot_len[s->slot],
					      PROT_READ | PROT_WRITE,
					      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (env->slot_mem[s->slot] == MAP_FAILED) {
			env->slot_mem[s->slot] = NULL;
			return -1;
		}
		memset(&region, 0, sizeof(region));
		region.slot = s->slot;
		region.guest_phys_addr = kc_resolve(env, s->guest_ipa);
		region.memory_size = env->slot_len[s->slot];
		region.userspace_addr = (uintptr_t)env->slot_mem[s->slot];
		ret = ioctl(env->vm_fd, KVM_SET_USER_MEMORY_REGION, &region);
		break;
	case KC_VM_IOCTL:
		if (kc_vm_ioctl(env, &ops[s->op], s, &ret, &err, &digest,
				&has_digest))
			return -1;
		break;
#ifdef KC_WITH_GUEST
	case KC_VCPU_START:
		ret = kc_vcpu_start(env);
		break;
	case KC_GET_ONE_REG:
		ret = kc_get_one_reg(env, s);
		break;
	case KC_SET_ONE_REG:
		ret = kc_set_one_reg(env, s);
		break;
	case KC_REG_LIST:
		ret = kc_reg_list(env, s);
		break;
	case KC_GUEST:
		rc = kc_guest_step(env, s, &ret, &digest, &has_digest);
		break;
	case KC_PAGEOUT:
		rc = kc_pageout(env, s, &ret);
		break;
#else
	default:
		snprintf(env->why, sizeof(env->why), "the guest runtime is built "
			 "for arm64 only (step kind %s)", kc_kind_name(s->kind));
		return 1;
#endif
	}
	if (rc)
		return rc;
	if (env->why[0])
		return -1;
	if (s->kind != KC_VM_IOCTL && s->kind != KC_GUEST)
		err = ret < 0 ? errno : 0;
	printf("# kconform: case=%s step=%d kind=%s ret=%ld errno=%s digest=",
	       c->id, n, kc_kind_name(s->kind), ret,
	       err ? kc_errno_name(err) : "-");
	if (has_digest)
		printf("%016llx\n", (unsigned long long)digest);
	else
		printf("-\n");
	return 0;
}

static inline void kc_teardown(struct kc_env *env)
{
	int i;

#ifdef KC_WITH_GUEST
	kc_vcpu_teardown(env);
#endif
	for (i = 0; i < env->nvcpus; i++)
		close(env->vcpus[i]);
	env->nvcpus = 0;
	if (env->vm_fd >= 0)
		close(env->vm_fd);
	env->vm_fd = -1;
	for (i = 0; i < KC_MAX_SLOTS; i++) {
		if (env->slot_mem[i])
			munmap(env->slot_mem[i], env->slot_len[i]);
		env->slot_mem[i] = NULL;
	}
}

/* KVM_CHECK_EXTENSION on a scratch VM (VM-scoped answers, like the cases) */
static inline long kc_probe(struct kc_env *env, uint64_t cap)
{
	int vm = ioctl(env->kvm_fd, KVM_CREATE_VM, 0);
	long r;

	if (vm < 0)
		return ioctl(env->kvm_fd, KVM_CHECK_EXTENSION, cap);
	r = ioctl(vm, KVM_CHECK_EXTENSION, cap);
	close(vm);
	return r;
}

static inline int kc_main(const char *spec, const struct kc_case *cases,
			  int ncases, const struct kc_op *ops,
			  const struct kc_binding *bind, int nbind)
{
	struct kc_env env = { .vm_fd = -1, .guest_fd = -1 };
	int i, n, rc = 0, passed = 0, failed = 0, skipped = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	env.page_size = sysconf(_SC_PAGESIZE);
	printf("TAP version 13\n");
	printf("1..%d\n", ncases);
	printf("# kconform: spec=%s cases=%d\n", spec, ncases);
	printf("# kconform: page_size=%ld\n", env.page_size);
	for (i = 0; i < nbind; i++)
		printf("# kconform: binding name=%s number=%llu how=%s\n",
		       bind[i].name, (unsigned long long)bind[i].number,
		       bind[i].how);
	env.kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	for (i = 0; i < ncases; i++) {
		const struct kc_case *c = &cases[i];

		if (env.kvm_fd < 0) {
			printf("ok %d %s # SKIP /dev/kvm: %s\n", i + 1, c->id,
			       strerror(errno));
			skipped++;
			continue;
		}
		if (c->requires && kc_probe(&env, c->requires_cap) <= 0) {
			printf("ok %d %s # SKIP %s\n", i + 1, c->id,
			       c->skip_reason);
			skipped++;
			continue;
		}
		env.case_id = c->id;
		for (n = 0; n < c->nsteps; n++)
			if ((rc = kc_step(&env, ops, c, n)) != 0)
				break;
		kc_teardown(&env);
		if (n < c->nsteps && rc > 0) {
			printf("ok %d %s # SKIP %s\n", i + 1, c->id, env.why);
			skipped++;
		} else if (n < c->nsteps) {
			printf("# kconform: case=%s harness failed at step %d: %s\n",
			       c->id, n, env.why[0] ? env.why : strerror(errno));
			printf("not ok %d %s\n", i + 1, c->id);
			failed++;
		} else {
			printf("ok %d %s\n", i + 1, c->id);
			passed++;
		}
	}
	printf("# kconform: totals pass=%d fail=%d skip=%d\n", passed, failed,
	       skipped);
	if (failed)
		return KC_EXIT_FAIL;
	return passed ? KC_EXIT_PASS : KC_EXIT_SKIP;
}

#endif /* KCONFORM_RUNTIME_H */
