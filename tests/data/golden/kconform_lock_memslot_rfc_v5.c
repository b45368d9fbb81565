// do not edit, generated from lock-memslot-rfc-v5 by kconform (render_c, binding=header)
// SPDX-License-Identifier: GPL-2.0
/*
 * Conformance cases for lock-memslot-rfc-v5: KVM: arm64: Add lock/unlock memslot user API
 * Seed: 004_baa2838cf23bbaa8.txt
 *   v5 2/38: KVM: arm64: Add lock/unlock memslot user API
 *
 * Each case is a row of steps run by kconform_runtime.h on a fresh VM.
 * Every step prints what it observed ("# kconform: case=... ret= errno=
 * digest="); this file does not judge the kernel: kconform cross-checks
 * the observations against the reference model generated from the same
 * spec.  "ok" means all observations of a case were made.
 *
 * Capability numbers (binding=header):
 *   KVM_CAP_ARM_LOCK_USER_MEMORY_REGION: header -- bound by name (--cap-binding header); the patch says 207 (004_baa2838cf23bbaa8.txt:388), which is used when <linux/kvm.h> has no such name
 * With binding=patch the functional cases use the number the patch
 * defines; a kernel that merged the capability under another number then
 * answers for whatever capability holds the patch's number there.  With
 * binding=header (kconform --cap-binding header) they use the number the
 * toolchain's <linux/kvm.h> gives the same name, or the patch's number
 * when the header has no such name (the binding line printed at start
 * says `how=patch(not-in-header)`).  Either way the
 * cap.number case probes the patch's own number with KVM_CHECK_EXTENSION,
 * and the reference expects it to answer as the named capability.
 */
#include "kconform_runtime.h"

/* uAPI of lock-memslot-rfc-v5, prefixed: <linux/kvm.h> has its own versions */
#define KCONFORM_KVM_ARM_LOCK_USER_MEMORY_REGION_FLAGS_LOCK	1	/* 004_baa2838cf23bbaa8.txt:397 */
#define KCONFORM_KVM_ARM_LOCK_MEM_READ	1	/* 004_baa2838cf23bbaa8.txt:398 */
#define KCONFORM_KVM_ARM_LOCK_MEM_WRITE	2	/* 004_baa2838cf23bbaa8.txt:399 */
#define KCONFORM_KVM_ARM_LOCK_USER_MEMORY_REGION_FLAGS_UNLOCK	2	/* 004_baa2838cf23bbaa8.txt:400 */
#define KCONFORM_KVM_ARM_UNLOCK_MEM_ALL	1	/* 004_baa2838cf23bbaa8.txt:401 */


#ifdef KVM_CAP_ARM_LOCK_USER_MEMORY_REGION
#define KCONFORM_KVM_CAP_ARM_LOCK_USER_MEMORY_REGION	KVM_CAP_ARM_LOCK_USER_MEMORY_REGION
#define KCONFORM_KVM_CAP_ARM_LOCK_USER_MEMORY_REGION_HOW	"header"
#else	/* not in <linux/kvm.h>: the patch's number, and the report says so */
#define KCONFORM_KVM_CAP_ARM_LOCK_USER_MEMORY_REGION	207
#define KCONFORM_KVM_CAP_ARM_LOCK_USER_MEMORY_REGION_HOW	"patch(not-in-header)"
#endif
#define KCONFORM_KVM_CAP_ARM_LOCK_USER_MEMORY_REGION_PATCH	207

static const struct kc_binding kc_bindings[] = {
	{ "KVM_CAP_ARM_LOCK_USER_MEMORY_REGION", KCONFORM_KVM_CAP_ARM_LOCK_USER_MEMORY_REGION, KCONFORM_KVM_CAP_ARM_LOCK_USER_MEMORY_REGION_HOW },
};

/* no ioctl of its own: the cases call KVM_ENABLE_CAP and KVM_CHECK_EXTENSION */
#define kc_ops ((const struct kc_op *)0)



static const struct kc_case kc_cases[] = {
	/*
	 * copy_from_user(&cap, argp, sizeof(cap)) fails alone (lever
	 * bad_arg_pointer): expect EFAULT, every earlier check satisfied
	 * [cap_copy_faults, vocabulary.yaml:295]
	 */
	{
		.id = "enable_cap.cap_copy_faults",
		.nsteps = 2,
		.steps = {
			{ .kind = KC_CREATE_VM },
			{ .kind = KC_ENABLE_CAP, .cap = KCONFORM_KVM_CAP_ARM_LOCK_USER_MEMORY_REGION, .argp = KC_ARG_UNMAPPED },
		},
	},
	/*
	 * `!kvm_arm_lock_memslot_supported()` fails on every call
	 * (kvm_arm_lock_memslot_supported() returns 0 in the patch): branch
	 * `action == KVM_ARM_LOCK_USER_MEMORY_REGION_FLAGS_LOCK` (its first
	 * check at 004_baa2838cf23bbaa8.txt:314), flags = 1, args[1] = 1:
	 * expect EINVAL [not_kvm_arm_lock_memslot_supported,
	 * 004_baa2838cf23bbaa8.txt:276]
	 */
	{
		.id = "enable_cap.not_kvm_arm_lock_memslot_supported.lock",
		.nsteps = 2,
		.steps = {
			{ .kind = KC_CREATE_VM },
			{ .kind = KC_ENABLE_CAP, .cap = KCONFORM_KVM_CAP_ARM_LOCK_USER_MEMORY_REGION, .flags = 0x1, .args = { 0x0, 0x1, 0x0, 0x0 } },
		},
	},
	/*
	 * `!kvm_arm_lock_memslot_supported()` fails on every call
	 * (kvm_arm_lock_memslot_supported() returns 0 in the patch): branch
	 * `action == KVM_ARM_LOCK_USER_MEMORY_REGION_FLAGS_UNLOCK` (its
	 * first check at 004_baa2838cf23bbaa8.txt:354), flags = 2: expect
	 * EINVAL [not_kvm_arm_lock_memslot_supported,
	 * 004_baa2838cf23bbaa8.txt:276]
	 */
	{
		.id = "enable_cap.not_kvm_arm_lock_memslot_supported.unlock",
		.nsteps = 2,
		.steps = {
			{ .kind = KC_CREATE_VM },
			{ .kind = KC_ENABLE_CAP, .cap = KCONFORM_KVM_CAP_ARM_LOCK_USER_MEMORY_REGION, .flags = 0x2 },
		},
	},
	/*
	 * `!kvm_arm_lock_memslot_supported()` fails on every call
	 * (kvm_arm_lock_memslot_supported() returns 0 in the patch): flags =
	 * 0, which no branch takes: expect EINVAL
	 * [not_kvm_arm_lock_memslot_supported, 004_baa2838cf23bbaa8.txt:276]
	 */
	{
		.id = "enable_cap.not_kvm_arm_lock_memslot_supported.other",
		.nsteps = 2,
		.steps = {
			{ .kind = KC_CREATE_VM },
			{ .kind = KC_ENABLE_CAP, .cap = KCONFORM_KVM_CAP_ARM_LOCK_USER_MEMORY_REGION },
		},
	},
	/*
	 * KVM_CHECK_EXTENSION(KVM_CAP_ARM_LOCK_USER_MEMORY_REGION) returns
	 * `kvm_arm_lock_memslot_supported()` [success,
	 * 004_baa2838cf23bbaa8.txt:297]
	 */
	{
		.id = "check_extension.reports_lock_user_memory_region",
		.nsteps = 2,
		.steps = {
			{ .kind = KC_CREATE_VM },
			{ .kind = KC_CHECK_EXTENSION, .cap = KCONFORM_KVM_CAP_ARM_LOCK_USER_MEMORY_REGION },
		},
	},
	/*
	 * KVM_CHECK_EXTENSION(207), the patch's number for
	 * KVM_CAP_ARM_LOCK_USER_MEMORY_REGION, answers as
	 * KVM_CAP_ARM_LOCK_USER_MEMORY_REGION does [cap_number,
	 * 004_baa2838cf23bbaa8.txt:388]
	 */
	{
		.id = "cap.number",
		.nsteps = 2,
		.steps = {
			{ .kind = KC_CREATE_VM },
			{ .kind = KC_CHECK_EXTENSION, .cap = KCONFORM_KVM_CAP_ARM_LOCK_USER_MEMORY_REGION_PATCH },
		},
	},
};

int main(void)
{
	return kc_main("lock-memslot-rfc-v5", kc_cases,
		       (int)(sizeof(kc_cases) / sizeof(kc_cases[0])), kc_ops,
		       kc_bindings,
		       (int)(sizeof(kc_bindings) / sizeof(kc_bindings[0])));
}
