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

#include <sys/syscall.h>
#include <linux/capability.h>
#include "kconform_types.h"

#ifdef KC_WITH_GUEST
#include "kconform_vcpu.h"
#endif

/* the observation line of one step (a program may define KC_PRINT_OBS
 * as its own function of the same arguments before including this file:
 * the explore agent prints a shorter line) */
static inline void kc_print_obs(const struct kc_case *c, int n,
				const struct kc_step *s, long ret, int err,
				int has_digest, uint64_t digest)
{
	printf("# kconform: case=%s step=%d kind=%s ret=%ld errno=%s digest=",
	       c->id, n, kc_kind_name(s->kind), ret,
	       err ? kc_errno_name(err) : "-");
	if (has_digest)
		printf("%016llx\n", (unsigned long long)digest);
	else
		printf("-\n");
}
#ifndef KC_PRINT_OBS
#define KC_PRINT_OBS kc_print_obs
#endif

/* runs one ioctl step; returns 0, or -1 when the harness failed */
static inline int kc_vm_ioctl(struct kc_env *env, const struct kc_op *op,
		       const struct kc_step *s, long *ret, int *err,
		       uint64_t *digest, int *has_digest)
{
	struct kc_map arg, buf = { NULL, NULL, 0 };
	uint64_t v[KC_MAX_FIELDS];
	size_t len = 0, valid = 0, i;
	int k, fd = env->vm_fd;

	if (s->on_vcpu) {		/* a vCPU ioctl: on the last vCPU created */
		if (env->nvcpus == 0)
			return -1;
		fd = env->vcpus[env->nvcpus - 1];
	}
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
	if (!op->fill) {		/* the struct of another architecture */
		snprintf(env->why, sizeof(env->why), "%s fills its architecture's "
			 "struct, which this build does not have", op->name);
		munmap(arg.base, arg.total);
		if (s->buf.present)
			munmap(buf.base, buf.total);
		return -1;
	}
	op->fill(arg.p, v, buf.p);
	errno = 0;
	if (op->by_value)		/* `_IO`: the argument is the value */
		*ret = ioctl(fd, op->request, (unsigned long)v[0]);
	else
		*ret = ioctl(fd, op->request,
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

/* a GET ioctl into the op's struct (SENTINEL-filled), reporting one field
 * as ret; 0, or -1 when the harness failed */
static inline int kc_read_back(struct kc_env *env, const struct kc_op *op,
			       const struct kc_step *s, long *ret, int *err)
{
	struct kc_map arg;
	int fd = env->vm_fd;

	if (s->on_vcpu) {
		if (env->nvcpus == 0)
			return -1;
		fd = env->vcpus[env->nvcpus - 1];
	}
	if (!op->read || kc_map_guarded(env, op->arg_size, &arg))
		return -1;
	memset(arg.p, KC_SENTINEL, op->arg_size);
	errno = 0;
	*ret = ioctl(fd, s->rb_request, arg.p);
	*err = *ret < 0 ? errno : 0;
	if (*ret == 0)
		*ret = (long)op->read(arg.p, s->rb_field);
	munmap(arg.base, arg.total);
	return 0;
}

/* runs one device-attribute step; returns 0, or -1 when the harness failed.
 * attr.addr points at one u64 (dattr.value), or at the struct ops[s->op]
 * fills from v[] (dattr.vstruct), ending at a guard page */
static inline int kc_device_attr(struct kc_env *env, const struct kc_op *ops,
				 const struct kc_step *s, long *ret, int *err)
{
	struct kc_map arg, val;
	struct kvm_device_attr *a;
	uint64_t v[KC_MAX_FIELDS];
	size_t vsize = sizeof(uint64_t);
	int fd, k;

	if (s->dattr.on_vcpu && env->nvcpus == 0)
		return -1;
	if (s->dattr.vstruct && (!ops || !ops[s->op].fill))
		return -1;
	if (s->dattr.vstruct)
		vsize = ops[s->op].arg_size;
	fd = s->dattr.on_vcpu ? env->vcpus[env->nvcpus - 1] : env->vm_fd;
	if (kc_map_guarded(env, sizeof(*a), &arg))
		return -1;
	if (kc_map_guarded(env, vsize, &val)) {
		munmap(arg.base, arg.total);
		return -1;
	}
	if (s->dattr.vstruct) {
		for (k = 0; k < KC_MAX_FIELDS; k++)
			v[k] = kc_resolve(env, s->v[k]);
		memset(val.p, 0, vsize);
		ops[s->op].fill(val.p, v, NULL);
	} else {
		*(uint64_t *)val.p = kc_resolve(env, s->dattr.value);
	}
	a = (struct kvm_device_attr *)arg.p;
	memset(a, 0, sizeof(*a));
	a->group = (__u32)s->dattr.group;
	a->attr = s->dattr.attr;
	a->addr = (uintptr_t)(s->dattr.addrp == KC_ARG_VALID ? val.p :
			      val.p + vsize);
	errno = 0;
	*ret = ioctl(fd, s->dattr.req,
		     s->argp == KC_ARG_VALID ? arg.p : arg.p + sizeof(*a));
	*err = *ret < 0 ? errno : 0;
	munmap(val.base, val.total);
	munmap(arg.base, arg.total);
	return 0;
}

/* KVM_ENABLE_CAP whose argument points at the PROT_NONE page after a
 * struct kvm_enable_cap; returns 0, or -1 when the harness failed */
static inline int kc_enable_cap_unmapped(struct kc_env *env, long *ret, int *err)
{
	struct kc_map arg;

	if (kc_map_guarded(env, sizeof(struct kvm_enable_cap), &arg))
		return -1;
	errno = 0;
	*ret = ioctl(env->vm_fd, KVM_ENABLE_CAP,
		     arg.p + sizeof(struct kvm_enable_cap));
	*err = *ret < 0 ? errno : 0;
	munmap(arg.base, arg.total);
	return 0;
}

/* KVM_CREATE_DEVICE of type s->dtype with s->flags (KVM_CREATE_DEVICE_TEST
 * probes the type without creating a device), its struct kvm_create_device
 * ending at a guard page, or the pointer at that unmapped page; a device
 * the call creates is closed at once.  0, or -1 when the harness failed */
static inline int kc_create_device(struct kc_env *env, const struct kc_step *s,
				   long *ret, int *err)
{
	struct kvm_create_device *cd;
	struct kc_map arg;

	if (kc_map_guarded(env, sizeof(*cd), &arg))
		return -1;
	cd = (struct kvm_create_device *)arg.p;
	memset(cd, 0, sizeof(*cd));
	cd->type = s->dtype;
	cd->flags = (__u32)s->flags;
	cd->fd = (__u32)-1;
	errno = 0;
	*ret = ioctl(env->vm_fd, KVM_CREATE_DEVICE,
		     s->argp == KC_ARG_VALID ? arg.p : arg.p + sizeof(*cd));
	*err = *ret < 0 ? errno : 0;
	if (*ret == 0 && s->argp == KC_ARG_VALID && (int)cd->fd >= 0 &&
	    !(s->flags & KVM_CREATE_DEVICE_TEST))
		close((int)cd->fd);
	munmap(arg.base, arg.total);
	return 0;
}

/* KVM_{GET,SET}_ONE_REG of a register a spec defines, on the last vCPU
 * created: struct kvm_one_reg whose addr points at the register's
 * KVM_REG_SIZE(id) bytes (at least one u64: the SET's value, little
 * endian, zero above) ending at a guard page, or at the unmapped page; the
 * digest is of the first 8 bytes after the call (SENTINEL prefilled), of
 * none when addr is unmapped.  0, or -1 harness failed */
static inline int kc_one_reg(struct kc_env *env, const struct kc_step *s,
			     long *ret, int *err, uint64_t *digest,
			     int *has_digest)
{
	struct kc_map arg, val;
	struct kvm_one_reg *r;
	unsigned long req = s->kind == KC_GET_ONE_REG ? KVM_GET_ONE_REG :
			    KVM_SET_ONE_REG;
	int mapped = s->oreg.addrp == KC_ARG_VALID;
	/* KVM_REG_SIZE(id): 1 << the size field, bits 52..55 */
	size_t size = (size_t)1 << ((s->reg >> 52) & 0xf);
	uint64_t v = kc_resolve(env, s->oreg.value);

	if (size < sizeof(uint64_t))
		size = sizeof(uint64_t);
	if (env->nvcpus == 0)
		return -1;
	if (kc_map_guarded(env, sizeof(*r), &arg))
		return -1;
	if (kc_map_guarded(env, size, &val)) {
		munmap(arg.base, arg.total);
		return -1;
	}
	if (s->kind == KC_GET_ONE_REG) {
		memset(val.p, KC_SENTINEL, size);
	} else {
		memset(val.p, 0, size);
		memcpy(val.p, &v, sizeof(v));
	}
	r = (struct kvm_one_reg *)arg.p;
	memset(r, 0, sizeof(*r));
	r->id = s->reg;
	r->addr = (uintptr_t)(mapped ? val.p : val.p + size);
	errno = 0;
	*ret = ioctl(env->vcpus[env->nvcpus - 1], req,
		     s->argp == KC_ARG_VALID ? arg.p : arg.p + sizeof(*r));
	*err = *ret < 0 ? errno : 0;
	if (s->kind == KC_GET_ONE_REG) {
		*has_digest = 1;
		*digest = kc_fnv1a64(val.p, mapped ? sizeof(uint64_t) : 0);
	}
	munmap(val.base, val.total);
	munmap(arg.base, arg.total);
	return 0;
}

/* KVM_GET_REG_LIST on the last vCPU created: bit k of ret set when
 * s->regs[k] is listed; the call's errno when the list cannot be read */
static inline long kc_reg_list_ids(struct kc_env *env, const struct kc_step *s)
{
	struct kvm_reg_list probe = { .n = 0 }, *list;
	long ret;
	int k, fd;

	if (env->nvcpus == 0)
		return -1;
	fd = env->vcpus[env->nvcpus - 1];
	if (s->argp != KC_ARG_VALID) {		/* the struct on an unmapped page */
		struct kc_map arg;

		if (kc_map_guarded(env, sizeof(probe), &arg))
			return -1;
		errno = 0;
		ret = ioctl(fd, KVM_GET_REG_LIST, arg.p + sizeof(probe));
		k = errno;
		munmap(arg.base, arg.total);
		errno = k;
		return ret;
	}
	if (s->oreg.n_set) {			/* one call with the case's n */
		probe.n = kc_resolve(env, s->oreg.value);
		list = calloc(1, sizeof(*list) + probe.n * sizeof(__u64));
		if (!list)
			return -1;
		list->n = probe.n;
		ret = ioctl(fd, KVM_GET_REG_LIST, list);
		k = errno;
		free(list);
		errno = k;
		return ret < 0 ? ret : 0;
	}
	ret = ioctl(fd, KVM_GET_REG_LIST, &probe);	/* E2BIG, sets n */
	if (ret < 0 && errno != E2BIG)
		return ret;
	return kc_listed(fd, probe.n, s->regs);
}

/* drop POSIX capability `cap` from the effective set (drop), or make the
 * effective set the permitted one again (!drop); the ioctl's result */
static inline long kc_capability(struct kc_env *env, uint64_t cap, int drop)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3];
	int i;

	memset(d, 0, sizeof(d));
	if (syscall(SYS_capget, &h, d))
		return -1;
	if (drop && cap >= 32 * _LINUX_CAPABILITY_U32S_3) {
		errno = EINVAL;
		return -1;
	}
	for (i = 0; i < _LINUX_CAPABILITY_U32S_3; i++)
		if (!drop)
			d[i].effective = d[i].permitted;
	if (drop)
		d[cap / 32].effective &= ~(1U << (cap % 32));
	if (syscall(SYS_capset, &h, d))
		return -1;
	env->caps_dropped = drop;
	return 0;
}

/* KVM_ARM_PREFERRED_TARGET + KVM_ARM_VCPU_INIT with the step's feature
 * bits: 0 done, 1 the host cannot offer a feature (the case is skipped,
 * naming it), -1 the init failed without any feature */
static inline int kc_vcpu_init(struct kc_env *env, int fd,
			       const struct kc_step *s)
{
#ifdef __aarch64__
	struct kvm_vcpu_init init;
	int i;

	memset(&init, 0, sizeof(init));
	if (ioctl(env->vm_fd, KVM_ARM_PREFERRED_TARGET, &init)) {
		snprintf(env->why, sizeof(env->why),
			 "KVM_ARM_PREFERRED_TARGET failed: %s", strerror(errno));
		return -1;
	}
	for (i = 0; i < 64; i++)
		if (s->features & (1ULL << i))
			init.features[i / 32] |= 1U << (i % 32);
	if (ioctl(fd, KVM_ARM_VCPU_INIT, &init) == 0)
		return 0;
	snprintf(env->why, sizeof(env->why), "%s%s: KVM_ARM_VCPU_INIT failed: %s",
		 s->features ? "the host cannot offer vCPU feature(s) " :
		 "KVM_ARM_VCPU_INIT without features failed",
		 s->features ? s->feature_names : "", kc_errno_name(errno));
	return s->features ? 1 : -1;
#else
	/* another architecture: KVM_CREATE_VCPU made the vCPU; only feature
	 * bits of KVM_ARM_VCPU_INIT cannot be had */
	(void)fd;
	if (!s->features)
		return 0;
	snprintf(env->why, sizeof(env->why), "KVM_ARM_VCPU_INIT is arm64's "
		 "(vCPU feature(s) %s)", s->feature_names ? s->feature_names : "none");
	return 1;
#endif
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
		if (s->argp != KC_ARG_VALID) {
			if (kc_enable_cap_unmapped(env, &ret, &err))
				return -1;
			break;
		}
		ret = ioctl(env->vm_fd, KVM_ENABLE_CAP, &ec);
		break;
	case KC_CREATE_VCPU:
		ret = ioctl(env->vm_fd, KVM_CREATE_VCPU, env->nvcpus);
		if (ret >= 0)
			env->vcpus[env->nvcpus++] = (int)ret;
		if (ret >= 0 && s->vcpu_init) {
			rc = kc_vcpu_init(env, (int)ret, s);
			errno = 0;
		}
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
	case KC_DELETE_MEMSLOT:
		if (s->slot >= KC_MAX_SLOTS || !env->slot_mem[s->slot])
			return -1;
		memset(&region, 0, sizeof(region));
		region.slot = s->slot;
		ret = ioctl(env->vm_fd, KVM_SET_USER_MEMORY_REGION, &region);
		if (ret == 0) {
			munmap(env->slot_mem[s->slot], env->slot_len[s->slot]);
			env->slot_mem[s->slot] = NULL;
		}
		break;
	case KC_VM_IOCTL:
		if (kc_vm_ioctl(env, &ops[s->op], s, &ret, &err, &digest,
				&has_digest))
			return -1;
		break;
	case KC_DEVICE_ATTR:
		if (s->dattr.value.host && kc_host_value(s->dattr.value.host) < 0) {
			snprintf(env->why, sizeof(env->why), "the host has no %s",
				 kc_host_value_need(s->dattr.value.host));
			return 1;	/* skipped: the value the case sends does not exist */
		}
		if (kc_device_attr(env, ops, s, &ret, &err))
			return -1;
		break;
	case KC_CREATE_DEVICE:
		if (kc_create_device(env, s, &ret, &err))
			return -1;
		break;
	case KC_GET_ONE_REG:
	case KC_SET_ONE_REG:
		if (s->oreg.direct) {
			if (kc_one_reg(env, s, &ret, &err, &digest, &has_digest))
				return -1;
			break;
		}
#ifdef KC_WITH_GUEST
		ret = s->kind == KC_GET_ONE_REG ? kc_get_one_reg(env, s) :
						  kc_set_one_reg(env, s);
		break;
#else
		goto no_guest;
#endif
	case KC_REG_LIST:
		if (s->oreg.direct) {
			ret = kc_reg_list_ids(env, s);
			break;
		}
#ifdef KC_WITH_GUEST
		ret = kc_reg_list(env, s);
		break;
#else
		goto no_guest;
#endif
	case KC_DROP_CAPABILITY:
		ret = kc_capability(env, s->cap, 1);
		break;
	case KC_READ_BACK:
		if (kc_read_back(env, &ops[s->op], s, &ret, &err))
			return -1;
		break;
#ifdef KC_WITH_GUEST
	case KC_VCPU_START:
		ret = kc_vcpu_start(env, s);
		if (ret == -2)		/* a feature the host cannot offer */
			rc = 1;
		break;
	case KC_VCPU_IN_RUN:
		ret = kc_vcpu_in_run(env);
		break;
	case KC_GUEST_EXIT:
		rc = kc_guest_exit(env, s, &ret, &err);
		break;
	case KC_RUN_FIELD:
		rc = kc_run_field(env, s, &ret);
		break;
	case KC_GUEST:
		rc = kc_guest_step(env, s, &ret, &digest, &has_digest);
		break;
	case KC_PAGEOUT:
		rc = kc_pageout(env, s, &ret);
		break;
#else
	default:
no_guest:
		snprintf(env->why, sizeof(env->why), "the guest runtime is built "
			 "for arm64 only (step kind %s)", kc_kind_name(s->kind));
		return 1;
#endif
	}
	if (rc)
		return rc;
	if (env->why[0])
		return -1;
	if (s->kind != KC_VM_IOCTL && s->kind != KC_GUEST && s->kind != KC_READ_BACK &&
	    !(s->kind == KC_ENABLE_CAP && s->argp != KC_ARG_VALID) &&
	    s->kind != KC_GUEST_EXIT && s->kind != KC_RUN_FIELD &&
	    !(s->oreg.direct && s->kind != KC_REG_LIST))
		err = ret < 0 ? errno : 0;
	KC_PRINT_OBS(c, n, s, ret, err, has_digest, digest);
	return 0;
}

static inline void kc_teardown(struct kc_env *env)
{
	int i;

#ifdef KC_WITH_GUEST
	kc_vcpu_teardown(env);
#endif
	if (env->caps_dropped)
		kc_capability(env, 0, 0);
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
		/* requires 1: absent unless the probe answers > 0; requires 2: the
		 * capability answers a value (a size, a bitmap) where 0 is an
		 * answer, so only a failed probe (< 0) means absent */
		if (c->requires && (c->requires == 2
				    ? kc_probe(&env, c->requires_cap) < 0
				    : kc_probe(&env, c->requires_cap) <= 0)) {
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
