/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kconform VMM side of the guest runtime (templates/guest/): vCPU set-up,
 * one-reg and reg-list steps, guest commands and host page-out.
 *
 * Included by kconform_runtime.h when the generated test defines
 * KC_WITH_GUEST; kc_guest_image[] comes from kconform_guest_blob.h (the flat guest binary,
 * generated at build time by generator/render/guest.py).  A guest command runs
 * the vCPU until the guest stores to KG_MMIO_DONE; an unexpected guest
 * exception (KG_MMIO_FAULT), any other exit, or a vCPU that does not
 * answer within KC_GUEST_TIMEOUT_S seconds (SIGALRM + immediate_exit)
 * fails the step with the syndrome or the timeout as the reason; the
 * case is then torn down and the next case runs.
 */
#ifndef KCONFORM_VCPU_H
#define KCONFORM_VCPU_H

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/time.h>
#include "kconform_guest_abi.h"
#include "kconform_guest_blob.h"
#include "kconform_types.h"

#ifndef KC_GUEST_TIMEOUT_S
#define KC_GUEST_TIMEOUT_S	20	/* seconds a guest command may take */
#endif
#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT		21
#endif

_Static_assert((int)KC_GOP_MRS == (int)KG_OP_MRS &&
	       (int)KC_GOP_STG == (int)KG_OP_STG &&
	       (int)KC_GOP_LDG == (int)KG_OP_LDG &&
	       (int)KC_GOP_SPIN == (int)KG_OP_SPIN &&
	       (int)KC_GOP_LDP == (int)KG_OP_LDP &&
	       (int)KC_GOP_HVC == (int)KG_OP_HVC &&
	       (int)KC_GOP_SMC == (int)KG_OP_SMC, "kc_guest_op follows enum kg_op");

/* a GUEST_EXIT whose call returned to the guest (generator.model.case.GUEST_ANSWERED) */
#define KC_GUEST_ANSWERED	1000

static struct kvm_run *volatile kc_alarm_run;

static void kc_on_alarm(int sig)
{
	(void)sig;
	if (kc_alarm_run)
		kc_alarm_run->immediate_exit = 1;
}

/* one KVM_RUN of the guest vCPU, cut short by SIGALRM after the guest
 * timeout (kc_on_alarm sets immediate_exit: KVM_RUN then fails EINTR);
 * its result, and its errno in *e */
static inline int kc_run_guest(struct kc_env *env, int *e)
{
	struct sigaction sa;
	int r;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = kc_on_alarm;	/* no SA_RESTART: KVM_RUN -> EINTR */
	sigaction(SIGALRM, &sa, NULL);
	env->run->immediate_exit = 0;
	kc_alarm_run = env->run;
	alarm(KC_GUEST_TIMEOUT_S);
	r = ioctl(env->guest_fd, KVM_RUN, 0);
	*e = errno;
	alarm(0);
	kc_alarm_run = NULL;
	return r;
}

__attribute__((format(printf, 2, 3)))
static inline int kc_fail(struct kc_env *env, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(env->why, sizeof(env->why), fmt, ap);
	va_end(ap);
	return -1;
}

static inline uint64_t kc_core_reg(size_t offset)
{
	return KVM_REG_ARM64 | KVM_REG_SIZE_U64 | KVM_REG_ARM_CORE |
	       (offset / sizeof(__u32));
}

static inline int kc_set_reg(int fd, uint64_t id, uint64_t value)
{
	struct kvm_one_reg r = { .id = id, .addr = (uintptr_t)&value };

	return ioctl(fd, KVM_SET_ONE_REG, &r);
}

/* create vCPU 0 of the guest, load the image, point PC and SP at it */
static inline long kc_vcpu_start(struct kc_env *env, const struct kc_step *s)
{
	struct kvm_userspace_memory_region region;
	struct kvm_vcpu_init init;
	long fd, size;
	int i;

	fd = ioctl(env->vm_fd, KVM_CREATE_VCPU, env->nvcpus);
	if (fd < 0)
		return fd;
	env->vcpus[env->nvcpus++] = (int)fd;
	env->guest_fd = (int)fd;
	memset(&init, 0, sizeof(init));
	if (ioctl(env->vm_fd, KVM_ARM_PREFERRED_TARGET, &init))
		return kc_fail(env, "KVM_ARM_PREFERRED_TARGET failed: %s", strerror(errno));
	for (i = 0; i < 64; i++)
		if (s->features & (1ULL << i))
			init.features[i / 32] |= 1U << (i % 32);
	if (ioctl((int)fd, KVM_ARM_VCPU_INIT, &init)) {
		if (!s->features)
			return kc_fail(env, "KVM_ARM_VCPU_INIT failed: %s", strerror(errno));
		snprintf(env->why, sizeof(env->why), "the host cannot offer vCPU "
			 "feature(s) %s: KVM_ARM_VCPU_INIT failed: %s",
			 s->feature_names, kc_errno_name(errno));
		return -2;	/* kc_step: the case cannot run here */
	}
	size = ioctl(env->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	env->run = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE, MAP_SHARED,
			(int)fd, 0);
	if (env->run == MAP_FAILED) {
		env->run = NULL;
		return -1;
	}
	env->run_size = (size_t)size;
	env->slot_len[KG_SLOT] = KG_CODE_SIZE;
	env->slot_mem[KG_SLOT] = mmap(NULL, KG_CODE_SIZE, PROT_READ | PROT_WRITE,
				      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (env->slot_mem[KG_SLOT] == MAP_FAILED) {
		env->slot_mem[KG_SLOT] = NULL;
		return -1;
	}
	memcpy(env->slot_mem[KG_SLOT], kc_guest_image, sizeof(kc_guest_image));
	memset(&region, 0, sizeof(region));
	region.slot = KG_SLOT;
	region.guest_phys_addr = KG_CODE_IPA;
	region.memory_size = KG_CODE_SIZE;
	region.userspace_addr = (uintptr_t)env->slot_mem[KG_SLOT];
	if (ioctl(env->vm_fd, KVM_SET_USER_MEMORY_REGION, &region))
		return kc_fail(env, "image memslot at %#llx: %s",
			       KG_CODE_IPA, strerror(errno));
	if (kc_set_reg((int)fd, kc_core_reg(offsetof(struct kvm_regs, regs.pc)),
		       KG_CODE_IPA) ||
	    kc_set_reg((int)fd, kc_core_reg(offsetof(struct kvm_regs, sp_el1)),
		       KG_STACK_TOP))
		return kc_fail(env, "KVM_SET_ONE_REG of PC/SP_EL1: %s",
			       strerror(errno));
	return fd;
}

static inline void kc_vcpu_stop_spin(struct kc_env *env);

static inline void kc_vcpu_teardown(struct kc_env *env)
{
	kc_vcpu_stop_spin(env);
	if (env->run)
		munmap(env->run, env->run_size);
	env->run = NULL;
	env->guest_fd = -1;
}

static inline volatile struct kg_mailbox *kc_mailbox(struct kc_env *env)
{
	return (volatile struct kg_mailbox *)
		((unsigned char *)env->slot_mem[KG_SLOT] + KG_MAILBOX_OFF);
}

/* run the guest until it answers; 0 and *result, or -1 with env->why */
static inline int kc_guest_command(struct kc_env *env, uint64_t op,
				   uint64_t a0, uint64_t a1, uint64_t a2,
				   uint64_t *result)
{
	volatile struct kg_mailbox *mb;
	int r, e;

	if (env->guest_fd < 0 || !env->run)
		return kc_fail(env, "no guest vCPU was started");
	mb = kc_mailbox(env);
	mb->op = op;
	mb->a0 = a0;
	mb->a1 = a1;
	mb->a2 = a2;
	for (;;) {
		r = kc_run_guest(env, &e);
		if (r < 0 && e == EINTR)
			return kc_fail(env, "guest timeout: no answer within %d s",
				       KC_GUEST_TIMEOUT_S);
		if (r < 0)
			return kc_fail(env, "KVM_RUN failed: %s", strerror(e));
		if (env->run->exit_reason != KVM_EXIT_MMIO)
			return kc_fail(env, "guest exit reason %u (hw %#llx)",
				       env->run->exit_reason,
				       (unsigned long long)(env->run->exit_reason ==
				       KVM_EXIT_FAIL_ENTRY ?
				       env->run->fail_entry.hardware_entry_failure_reason :
				       0));
		if (env->run->mmio.phys_addr == KG_MMIO_DONE &&
		    env->run->mmio.is_write) {
			memcpy(result, env->run->mmio.data, sizeof(*result));
			return 0;
		}
		if (env->run->mmio.phys_addr == KG_MMIO_FAULT)
			return kc_fail(env, "guest fault: ESR_EL1=%#llx (EC %#llx) "
				       "FAR_EL1=%#llx ELR_EL1=%#llx", mb->esr,
				       (mb->esr >> 26) & 0x3f, mb->far, mb->elr);
		return kc_fail(env, "guest accessed unbacked IPA %#llx (%s)",
			       (unsigned long long)env->run->mmio.phys_addr,
			       env->run->mmio.is_write ? "write" : "read");
	}
}

static void *kc_spin_thread(void *p)
{
	struct kc_env *env = p;
	uint64_t r;

	kc_guest_command(env, KG_OP_SPIN, 0, 0, 0, &r);
	return NULL;
}

/* KC_VCPU_IN_RUN: the started vCPU runs the guest's SPIN command on a
 * thread; returns once the guest says it is spinning (inside KVM_RUN) */
static inline long kc_vcpu_in_run(struct kc_env *env)
{
	volatile struct kg_mailbox *mb;
	int i;

	if (env->guest_fd < 0 || !env->run)
		return kc_fail(env, "no guest vCPU was started");
	mb = kc_mailbox(env);
	mb->a1 = 0;
	if (pthread_create(&env->spin, NULL, kc_spin_thread, env))
		return kc_fail(env, "pthread_create: %s", strerror(errno));
	env->spinning = 1;
	for (i = 0; i < 2000 && mb->a1 != 1; i++)
		usleep(1000);
	if (mb->a1 != 1)
		return kc_fail(env, "the vCPU did not enter the guest within 2 s");
	return 0;
}

/* the spinning vCPU leaves the guest (its command done) and its thread ends */
static inline void kc_vcpu_stop_spin(struct kc_env *env)
{
	if (!env->spinning)
		return;
	kc_mailbox(env)->op = KG_OP_NONE;
	pthread_join(env->spin, NULL);
	env->spinning = 0;
}

static inline int kc_guest_step(struct kc_env *env, const struct kc_step *s,
				long *ret, uint64_t *digest, int *has_digest)
{
	volatile struct kg_mailbox *mb;
	uint64_t a[3], res = 0;
	size_t n;
	int i;

	for (i = 0; i < 3; i++)
		a[i] = kc_resolve(env, s->gargs[i]);
	if (kc_guest_command(env, s->gop, a[0], a[1], a[2], &res))
		return -1;
	mb = kc_mailbox(env);
	switch (s->report) {
	case KC_REPORT_FIELD:
		*ret = res == KG_MRS_FAULTED ? -1 :
		       (long)((res >> s->shift) & ((1ULL << s->width) - 1));
		break;
	case KC_REPORT_ACCESS:
		*ret = res != KG_MRS_FAULTED ? 1 :
		       ((mb->esr >> 26) & 0x3f) == 0 ? 0 : -1;
		break;
	case KC_REPORT_TCO:
		*ret = res != KG_MRS_FAULTED ? -1 : (long)mb->tco;
		break;
	case KC_REPORT_TAGS:
		n = res > KG_MAX_TAGS ? KG_MAX_TAGS : (size_t)res;
		*ret = (long)n;
		*digest = kc_fnv1a64((const unsigned char *)mb->tags, n);
		*has_digest = 1;
		break;
	case KC_REPORT_COUNT:
		*ret = (long)res;
		break;
	}
	if (res == KG_MRS_FAULTED)
		printf("# kconform: case=%s guest exception ESR_EL1=%#llx "
		       "EC=%#llx TCO=%llu\n", env->case_id, mb->esr,
		       (mb->esr >> 26) & 0x3f, mb->tco);
	return 0;
}

/*
 * The guest makes one event (s->gop: an LDP from an IPA, an HVC or SMC) and
 * the vCPU runs until KVM_RUN returns something other than an MMIO exit of
 * the guest's own protocol: *ret is the exit_reason, -1 with *err when
 * KVM_RUN failed, or KC_GUEST_ANSWERED when the guest got its call's result
 * back and answered (the result is the mailbox's, for KC_RUN_FIELD).  A
 * guest exception or a timeout fails the step.  The vCPU is left as the
 * exit left it: the case ends there or reads kvm_run.
 */
static inline int kc_guest_exit(struct kc_env *env, const struct kc_step *s,
				long *ret, int *err)
{
	volatile struct kg_mailbox *mb;
	int r, e;

	if (env->guest_fd < 0 || !env->run)
		return kc_fail(env, "no guest vCPU was started");
	mb = kc_mailbox(env);
	mb->op = s->gop;
	mb->a0 = kc_resolve(env, s->gargs[0]);
	mb->a1 = kc_resolve(env, s->gargs[1]);
	mb->a2 = kc_resolve(env, s->gargs[2]);
	mb->result = 0;
	r = kc_run_guest(env, &e);
	*err = 0;
	if (r < 0 && e == EINTR)
		return kc_fail(env, "guest timeout: no exit within %d s",
			       KC_GUEST_TIMEOUT_S);
	if (r < 0) {
		*ret = -1;
		*err = e;
		return 0;
	}
	if (env->run->exit_reason == KVM_EXIT_MMIO &&
	    env->run->mmio.phys_addr == KG_MMIO_FAULT)
		return kc_fail(env, "guest fault: ESR_EL1=%#llx (EC %#llx) "
			       "FAR_EL1=%#llx ELR_EL1=%#llx", mb->esr,
			       (mb->esr >> 26) & 0x3f, mb->far, mb->elr);
	if (env->run->exit_reason == KVM_EXIT_MMIO &&
	    env->run->mmio.phys_addr == KG_MMIO_DONE && env->run->mmio.is_write) {
		*ret = KC_GUEST_ANSWERED;
		printf("# kconform: case=%s guest answered x0=%#llx\n", env->case_id,
		       (unsigned long long)mb->result);
		return 0;
	}
	*ret = (long)env->run->exit_reason;
	printf("# kconform: case=%s KVM_RUN exit_reason=%u\n", env->case_id,
	       env->run->exit_reason);
	return 0;
}

/* a kvm_run member of the last exit (the bits of rfield.mask, when set),
 * or (size 0) the guest call's x0 */
static inline int kc_run_field(struct kc_env *env, const struct kc_step *s,
			       long *ret)
{
	uint64_t v = 0;

	if (!env->run)
		return kc_fail(env, "no vCPU ran: no kvm_run to read");
	if (!s->rfield.size)
		v = kc_mailbox(env)->result;
	else if (s->rfield.size <= sizeof(v) &&
		 s->rfield.off + s->rfield.size <= env->run_size)
		memcpy(&v, (unsigned char *)env->run + s->rfield.off, s->rfield.size);
	else
		return kc_fail(env, "kvm_run member at %zu (%zu bytes) is not a scalar",
			       s->rfield.off, s->rfield.size);
	*ret = (long)(s->rfield.mask ? v & s->rfield.mask : v);
	return 0;
}

/* one register's value: ret is the field (width > 0) or the ioctl's 0 */
static inline long kc_get_one_reg(struct kc_env *env, const struct kc_step *s)
{
	struct kvm_one_reg r;
	uint64_t v = 0;
	long ret;

	if (env->guest_fd < 0)
		return kc_fail(env, "no vCPU for KVM_GET_ONE_REG");
	r.id = s->reg;
	r.addr = (uintptr_t)&v;
	ret = ioctl(env->guest_fd, KVM_GET_ONE_REG, &r);
	if (ret < 0 || !s->width)
		return ret;
	return (long)((v >> s->shift) & ((1ULL << s->width) - 1));
}

/* write back the value the register holds (0 when it cannot be read) */
static inline long kc_set_one_reg(struct kc_env *env, const struct kc_step *s)
{
	struct kvm_one_reg r;
	uint64_t v = 0;
	int saved;

	if (env->guest_fd < 0)
		return kc_fail(env, "no vCPU for KVM_SET_ONE_REG");
	r.id = s->reg;
	r.addr = (uintptr_t)&v;
	saved = errno;
	if (ioctl(env->guest_fd, KVM_GET_ONE_REG, &r))
		v = 0;
	errno = saved;
	return ioctl(env->guest_fd, KVM_SET_ONE_REG, &r);
}

/* bit i set when s->regs[i] is in KVM_GET_REG_LIST */
static inline long kc_reg_list(struct kc_env *env, const struct kc_step *s)
{
	struct kvm_reg_list probe = { .n = 0 };

	if (env->guest_fd < 0)
		return kc_fail(env, "no vCPU for KVM_GET_REG_LIST");
	ioctl(env->guest_fd, KVM_GET_REG_LIST, &probe);	/* E2BIG, sets n */
	return kc_listed(env->guest_fd, probe.n, s->regs);
}

static inline long kc_vmstat(const char *key)
{
	char name[64];
	long value;
	FILE *f = fopen("/proc/vmstat", "r");

	if (!f)
		return -1;
	while (fscanf(f, "%63s %ld", name, &value) == 2)
		if (!strcmp(name, key)) {
			fclose(f);
			return value;
		}
	fclose(f);
	return -1;
}

/* an active swap device, or why there is none (for the skip reason) */
static inline int kc_swap_active(char *why, size_t len)
{
	char line[256];
	int n = 0;
	FILE *f = fopen("/proc/swaps", "r");

	if (!f) {
		snprintf(why, len, "no /proc/swaps: %s", strerror(errno));
		return 0;
	}
	while (fgets(line, sizeof(line), f))
		n++;
	fclose(f);
	if (n > 1)
		return 1;
	f = fopen("/tmp/kconform-swap.log", "r");
	snprintf(why, len, "no swap device is active (/proc/swaps is empty)");
	if (f) {
		size_t used = strlen(why);

		snprintf(why + used, len - used, "; swap set-up said: ");
		used = strlen(why);
		n = (int)fread(why + used, 1, len - used - 1, f);
		why[used + (n > 0 ? n : 0)] = 0;
		for (; why[used]; used++)
			if (why[used] == '\n')
				why[used] = ' ';
		fclose(f);
	}
	return 0;
}

/*
 * Push the VMM's mapping of a memslot out to swap with MADV_PAGEOUT.
 * Returns 0 and prints how many pages went out; 1 (skip, env->why) when
 * no swap device is active or nothing went out; -1 when madvise failed.
 */
static inline int kc_pageout(struct kc_env *env, const struct kc_step *s,
			     long *ret)
{
	long before, after;

	if (!env->slot_mem[s->slot])
		return kc_fail(env, "no memslot %u to page out", s->slot);
	if (!kc_swap_active(env->why, sizeof(env->why)))
		return 1;
	before = kc_vmstat("pswpout");
	*ret = madvise(env->slot_mem[s->slot], env->slot_len[s->slot],
		       MADV_PAGEOUT);
	if (*ret)
		return kc_fail(env, "madvise(MADV_PAGEOUT): %s", strerror(errno));
	after = kc_vmstat("pswpout");
	printf("# kconform: case=%s pageout pswpout=%ld->%ld pages=%ld\n",
	       env->case_id, before, after, after - before);
	if (before < 0 || after <= before) {
		snprintf(env->why, sizeof(env->why),
			 "MADV_PAGEOUT moved no page to swap (pswpout %ld -> %ld)",
			 before, after);
		return 1;
	}
	return 0;
}

#endif /* KCONFORM_VCPU_H */
