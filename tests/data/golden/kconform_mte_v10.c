// do not edit, generated from mte-v10 by kconform (render_c, binding=patch)
// SPDX-License-Identifier: GPL-2.0
/*
 * Conformance cases for mte-v10: MTE support for KVM guest
 * Seed: 002_640e98e582cbc741.txt
 *   v10 1/6: arm64: mte: Sync tags for pages where PTE is untagged
 *   v10 2/6: arm64: kvm: Introduce MTE VM feature
 *   v10 3/6: arm64: kvm: Save/restore MTE registers
 *   v10 4/6: arm64: kvm: Expose KVM_ARM_CAP_MTE
 *   v10 5/6: KVM: arm64: ioctl to fetch/store tags in a guest
 *   v10 6/6: KVM: arm64: Document MTE capability and ioctl
 *
 * Each case is a row of steps run by kconform_runtime.h on a fresh VM.
 * Every step prints what it observed ("# kconform: case=... ret= errno=
 * digest="); this file does not judge the kernel: kconform cross-checks
 * the observations against the reference model generated from the same
 * spec.  "ok" means all observations of a case were made.
 *
 * Capability numbers (binding=patch):
 *   KVM_CAP_ARM_MTE: patch -- the patch's number (002_640e98e582cbc741.txt:280)
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
/* the guest runtime (templates/guest/), built by kconform as a flat binary */
#ifdef __aarch64__
#define KC_WITH_GUEST 1
#include "kconform_guest_blob.h"
#endif
#include "kconform_runtime.h"

/* system registers the guest cases name (vocabulary: guest.sysregs) */
#define KC_SYSREG_GCR_EL1	0x603000000013c086ULL	/* S3_0_C1_C0_6, vocabulary.yaml:161 */
#define KC_MRS_GCR_EL1	0xd53810c0ULL	/* mrs x0, GCR_EL1 */
#define KC_SYSREG_ID_AA64PFR1_EL1	0x603000000013c021ULL	/* S3_0_C0_C4_1, vocabulary.yaml:159 */
#define KC_MRS_ID_AA64PFR1_EL1	0xd5380420ULL	/* mrs x0, ID_AA64PFR1_EL1 */
#define KC_SYSREG_PMCR_EL0	0x603000000013dce0ULL	/* S3_3_C9_C12_0, vocabulary.yaml:164 */
#define KC_MRS_PMCR_EL0	0xd53b9c00ULL	/* mrs x0, PMCR_EL0 */
#define KC_SYSREG_RGSR_EL1	0x603000000013c085ULL	/* S3_0_C1_C0_5, vocabulary.yaml:160 */
#define KC_MRS_RGSR_EL1	0xd53810a0ULL	/* mrs x0, RGSR_EL1 */
#define KC_SYSREG_TFSRE0_EL1	0x603000000013c2b1ULL	/* S3_0_C5_C6_1, vocabulary.yaml:163 */
#define KC_MRS_TFSRE0_EL1	0xd5385620ULL	/* mrs x0, TFSRE0_EL1 */
#define KC_SYSREG_TFSR_EL1	0x603000000013c2b0ULL	/* S3_0_C5_C6_0, vocabulary.yaml:162 */
#define KC_MRS_TFSR_EL1	0xd5385600ULL	/* mrs x0, TFSR_EL1 */
#ifdef __aarch64__
_Static_assert(KC_SYSREG_GCR_EL1 == ARM64_SYS_REG(3, 0, 1, 0, 6), "GCR_EL1: the uAPI's own encoding");
_Static_assert(KC_SYSREG_ID_AA64PFR1_EL1 == ARM64_SYS_REG(3, 0, 0, 4, 1), "ID_AA64PFR1_EL1: the uAPI's own encoding");
_Static_assert(KC_SYSREG_PMCR_EL0 == ARM64_SYS_REG(3, 3, 9, 12, 0), "PMCR_EL0: the uAPI's own encoding");
_Static_assert(KC_SYSREG_RGSR_EL1 == ARM64_SYS_REG(3, 0, 1, 0, 5), "RGSR_EL1: the uAPI's own encoding");
_Static_assert(KC_SYSREG_TFSRE0_EL1 == ARM64_SYS_REG(3, 0, 5, 6, 1), "TFSRE0_EL1: the uAPI's own encoding");
_Static_assert(KC_SYSREG_TFSR_EL1 == ARM64_SYS_REG(3, 0, 5, 6, 0), "TFSR_EL1: the uAPI's own encoding");
#endif

/* uAPI of mte-v10, prefixed: <linux/kvm.h> has its own versions */
/* 002_640e98e582cbc741.txt:682 */
struct kconform_kvm_arm_copy_mte_tags {
	__u64 guest_ipa;
	__u64 length;
	union {
		void *addr;
		__u64 padding;
	};
	__u64 flags;
	__u64 reserved[2];
};

#define KCONFORM_KVM_ARM_TAGS_TO_GUEST	0	/* 002_640e98e582cbc741.txt:693 */
#define KCONFORM_KVM_ARM_TAGS_FROM_GUEST	1	/* 002_640e98e582cbc741.txt:694 */

/* 002_640e98e582cbc741.txt:794: _IOR(KVMIO, 0xb4, struct kvm_arm_copy_mte_tags) */
#define KCONFORM_KVM_ARM_MTE_COPY_TAGS \
	_IOR(0xae, 0xb4, struct kconform_kvm_arm_copy_mte_tags)
_Static_assert(sizeof(struct kconform_kvm_arm_copy_mte_tags) == 48,
	       "spec: sizeof(struct kvm_arm_copy_mte_tags) is 48");
_Static_assert(KCONFORM_KVM_ARM_MTE_COPY_TAGS == 0x8030aeb4UL,
	       "spec: KVM_ARM_MTE_COPY_TAGS is 0x8030aeb4");

/* ABI checks (generator.abi) */
_Static_assert(sizeof(struct kconform_kvm_arm_copy_mte_tags) == 48,
	       "sizeof(struct kvm_arm_copy_mte_tags) is 48 (002_640e98e582cbc741.txt:682 on arm64)");
_Static_assert(_Alignof(struct kconform_kvm_arm_copy_mte_tags) == 8,
	       "_Alignof(struct kvm_arm_copy_mte_tags) is 8 (002_640e98e582cbc741.txt:682 on arm64)");
_Static_assert(offsetof(struct kconform_kvm_arm_copy_mte_tags, guest_ipa) == 0,
	       "offsetof(struct kvm_arm_copy_mte_tags, guest_ipa) is 0 (002_640e98e582cbc741.txt:682 on arm64)");
_Static_assert(offsetof(struct kconform_kvm_arm_copy_mte_tags, length) == 8,
	       "offsetof(struct kvm_arm_copy_mte_tags, length) is 8 (002_640e98e582cbc741.txt:682 on arm64)");
_Static_assert(offsetof(struct kconform_kvm_arm_copy_mte_tags, addr) == 16,
	       "offsetof(struct kvm_arm_copy_mte_tags, addr) is 16 (002_640e98e582cbc741.txt:682 on arm64)");
_Static_assert(offsetof(struct kconform_kvm_arm_copy_mte_tags, padding) == 16,
	       "offsetof(struct kvm_arm_copy_mte_tags, padding) is 16 (002_640e98e582cbc741.txt:682 on arm64)");
_Static_assert(offsetof(struct kconform_kvm_arm_copy_mte_tags, flags) == 24,
	       "offsetof(struct kvm_arm_copy_mte_tags, flags) is 24 (002_640e98e582cbc741.txt:682 on arm64)");
_Static_assert(offsetof(struct kconform_kvm_arm_copy_mte_tags, reserved) == 32,
	       "offsetof(struct kvm_arm_copy_mte_tags, reserved) is 32 (002_640e98e582cbc741.txt:682 on arm64)");
_Static_assert(_IOC_SIZE(KCONFORM_KVM_ARM_MTE_COPY_TAGS) == sizeof(struct kconform_kvm_arm_copy_mte_tags),
	       "_IOC_SIZE(KVM_ARM_MTE_COPY_TAGS) is sizeof(struct kvm_arm_copy_mte_tags) (002_640e98e582cbc741.txt:794)");

#define KCONFORM_KVM_CAP_ARM_MTE	195
#define KCONFORM_KVM_CAP_ARM_MTE_HOW	"patch"
#define KCONFORM_KVM_CAP_ARM_MTE_PATCH	195

static const struct kc_binding kc_bindings[] = {
	{ "KVM_CAP_ARM_MTE", KCONFORM_KVM_CAP_ARM_MTE, KCONFORM_KVM_CAP_ARM_MTE_HOW },
};

enum {
	KC_OP_KVM_ARM_MTE_COPY_TAGS,
};

static void kc_fill_kvm_arm_mte_copy_tags(void *p, const uint64_t *v, void *buf)
{
	struct kconform_kvm_arm_copy_mte_tags *arg = p;

	arg->guest_ipa = v[0];
	arg->length = v[1];
	arg->flags = v[2];
	arg->reserved[0] = v[3];
	arg->reserved[1] = v[4];
	arg->addr = buf;
}

static const struct kc_op kc_ops[] = {
	[KC_OP_KVM_ARM_MTE_COPY_TAGS] = {
		.name = "KVM_ARM_MTE_COPY_TAGS",
		.request = KCONFORM_KVM_ARM_MTE_COPY_TAGS,
		.arg_size = sizeof(struct kconform_kvm_arm_copy_mte_tags),
		.fill = kc_fill_kvm_arm_mte_copy_tags,
	},
};


static const char kc_skip_0[] =
	"KVM_CAP_ARM_MTE is not reported by KVM_CHECK_EXTENSION: the "
	"host lacks the feature (not_host_has_mte "
	"`!system_supports_mte()` at 002_640e98e582cbc741.txt:607)";

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
			{ .kind = KC_ENABLE_CAP, .cap = KCONFORM_KVM_CAP_ARM_MTE, .argp = KC_ARG_UNMAPPED },
		},
	},
	/*
	 * cap->flags fails alone (flags=1): expect EINVAL, every earlier
	 * check satisfied [flags_nonzero, vocabulary.yaml:127]
	 */
	{
		.id = "enable_cap.flags_nonzero",
		.requires = 1, .requires_cap = KCONFORM_KVM_CAP_ARM_MTE,
		.skip_reason = kc_skip_0,
		.nsteps = 2,
		.steps = {
			{ .kind = KC_CREATE_VM },
			{ .kind = KC_ENABLE_CAP, .cap = KCONFORM_KVM_CAP_ARM_MTE, .flags = 0x1 },
		},
	},
	/*
	 * kvm->created_vcpus fails alone (lever add_vcpu_first): expect
	 * EINVAL, every earlier check satisfied [vcpus_created,
	 * 002_640e98e582cbc741.txt:607]
	 */
	{
		.id = "enable_cap.vcpus_created",
		.requires = 1, .requires_cap = KCONFORM_KVM_CAP_ARM_MTE,
		.skip_reason = kc_skip_0,
		.nsteps = 3,
		.steps = {
			{ .kind = KC_CREATE_VM },
			{ .kind = KC_CREATE_VCPU },
			{ .kind = KC_ENABLE_CAP, .cap = KCONFORM_KVM_CAP_ARM_MTE },
		},
	},
	/*
	 * cap_copy_faults and flags_nonzero both fail: cap_copy_faults comes
	 * first (order 1 < 2), so EFAULT, not EINVAL
	 * [order.cap_copy_faults+flags_nonzero, vocabulary.yaml:295]
	 */
	{
		.id = "enable_cap.pair.cap_copy_faults+flags_nonzero",
		.requires = 1, .requires_cap = KCONFORM_KVM_CAP_ARM_MTE,
		.skip_reason = kc_skip_0,
		.nsteps = 2,
		.steps = {
			{ .kind = KC_CREATE_VM },
			{ .kind = KC_ENABLE_CAP, .cap = KCONFORM_KVM_CAP_ARM_MTE, .flags = 0x1, .argp = KC_ARG_UNMAPPED },
		},
	},
	/*
	 * cap_copy_faults and vcpus_created both fail: cap_copy_faults comes
	 * first (order 1 < 4), so EFAULT, not EINVAL
	 * [order.cap_copy_faults+vcpus_created, vocabulary.yaml:295]
	 */
	{
		.id = "enable_cap.pair.cap_copy_faults+vcpus_created",
		.requires = 1, .requires_cap = KCONFORM_KVM_CAP_ARM_MTE,
		.skip_reason = kc_skip_0,
		.nsteps = 3,
		.steps = {
			{ .kind = KC_CREATE_VM },
			{ .kind = KC_CREATE_VCPU },
			{ .kind = KC_ENABLE_CAP, .cap = KCONFORM_KVM_CAP_ARM_MTE, .argp = KC_ARG_UNMAPPED },
		},
	},
	/*
	 * enable KVM_CAP_ARM_MTE [success, 002_640e98e582cbc741.txt:611]
	 */
	{
		.id = "enable_cap.valid",
		.requires = 1, .requires_cap = KCONFORM_KVM_CAP_ARM_MTE,
		.skip_reason = kc_skip_0,
		.nsteps = 2,
		.steps = {
			{ .kind = KC_CREATE_VM },
			{ .kind = KC_ENABLE_CAP, .cap = KCONFORM_KVM_CAP_ARM_MTE },
		},
	},
	/*
	 * enable KVM_CAP_ARM_MTE twice: no check forbids it [success,
	 * 002_640e98e582cbc741.txt:611]
	 */
	{
		.id = "enable_cap.twice",
		.requires = 1, .requires_cap = KCONFORM_KVM_CAP_ARM_MTE,
		.skip_reason = kc_skip_0,
		.nsteps = 3,
		.steps = {
			{ .kind = KC_CREATE_VM },
			{ .kind = KC_ENABLE_CAP, .cap = KCONFORM_KVM_CAP_ARM_MTE },
			{ .kind = KC_ENABLE_CAP, .cap = KCONFORM_KVM_CAP_ARM_MTE },
		},
	},
	/*
	 * KVM_CHECK_EXTENSION(KVM_CAP_ARM_MTE) returns
	 * `system_supports_mte()` [success, 002_640e98e582cbc741.txt:621]
	 */
	{
		.id = "check_extension.reports_mte",
		.nsteps = 2,
		.steps = {
			{ .kind = KC_CREATE_VM },
			{ .kind = KC_CHECK_EXTENSION, .cap = KCONFORM_KVM_CAP_ARM_MTE },
		},
	},
	/*
	 * !kvm_has_mte(kvm) fails alone (lever omit_cap_enable): expect
	 * EINVAL, every earlier check satisfied [not_cap_enabled,
	 * 002_640e98e582cbc741.txt:776]
	 */
	{
		.id = "copy_tags.not_cap_enabled",
		.requires = 1, .requires_cap = KCONFORM_KVM_CAP_ARM_MTE,
		.skip_reason = kc_skip_0,
		.nsteps = 3,
		.steps = {
			{ .kind = KC_CREATE_VM },
			{ .kind = KC_ADD_MEMSLOT, .slot = 0,
			  .guest_ipa = { .pages = 256 }, .pages = 8
			},
			{ .kind = KC_VM_IOCTL, .op = KC_OP_KVM_ARM_MTE_COPY_TAGS,
			  .v[0] = { .pages = 256 },	/* guest_ipa */
			  .v[1] = { .pages = 1 },	/* length */
			  .v[2] = { .bytes = 0x1 },	/* flags */
			  .buf = { .present = 1,
			    .length = { .pages = 1, .div = 16 },
			    .valid = { .pages = 1, .div = 16 },
			    .fill = KC_FILL_SENTINEL, .seed = 0 }
			},
		},
	},
	/*
	 * copy_from_user(&copy_tags, argp, sizeof(copy_tags)) fails alone
	 * (lever bad_arg_pointer): expect EFAULT, every earlier check
	 * satisfied [user_read_faults, 002_640e98e582cbc741.txt:779]
	 */
	{
		.id = "copy_tags.user_read_faults",
		.requires = 1, .requires_cap = KCONFORM_KVM_CAP_ARM_MTE,
		.skip_reason = kc_skip_0,
		.nsteps = 4,
		.steps = {
			{ .kind = KC_CREATE_VM },
			{ .kind = KC_ENABLE_CAP, .cap = KCONFORM_KVM_CAP_ARM_MTE },
			{ .kind = KC_ADD_MEMSLOT, .slot = 0,
			  .guest_ipa = { .pages = 256 }, .pages = 8
			},
			{ .kind = KC_VM_IOCTL, .op = KC_OP_KVM_ARM_MTE_COPY_TAGS,
			  .v[0] = { .pages = 256 },	/* guest_ipa */
			  .v[1] = { .pages = 1 },	/* length */
			  .v[2] = { .bytes = 0x1 },	/* flags */
			  .argp = KC_ARG_UNMAPPED,
			  .buf = { .present = 1,
			    .length = { .pages = 1, .div = 16 },
			    .valid = { .pages = 1, .div = 16 },
			    .fill = KC_FILL_SENTINEL, .seed = 0 }
			},
		},
	},
	/*
	 * copy_tags->reserved[0] fails alone (reserved[0]=1): expect EINVAL,
	 * every earlier check satisfied [reserved_0_nonzero,
	 * 002_640e98e582cbc741.txt:717]
	 */
	{
		.id = "copy_tags.reserved_0_nonzero",
		.requires = 1, .requires_cap = KCONFORM_KVM_CAP_ARM_MTE,
		.skip_reason = kc_skip_0,
		.nsteps = 4,
		.steps = {
			{ .kind = KC_CREATE_VM },
			{ .kind = KC_ENABLE_CAP, .cap = KCONFORM_KVM_CAP_ARM_MTE },
			{ .kind = KC_ADD_MEMSLOT, .slot = 0,
			  .guest_ipa = { .pages = 256 }, .pages = 8
			},
			{ .kind = KC_VM_IOCTL, .op = KC_OP_KVM_ARM_MTE_COPY_TAGS,
			  .v[0] = { .pages = 256 },	/* guest_ipa */
			  .v[1] = { .pages = 1 },	/* length */
			  .v[2] = { .bytes = 0x1 },	/* flags */
			  .v[3] = { .bytes = 0x1 },	/* reserved[0] */
			  .buf = { .present = 1,
			    .length = { .pages = 1, .div = 16 },
			    .valid = { .pages = 1, .div = 16 },
			    .fill = KC_FILL_SENTINEL, .seed = 0 }
			},
		},
	},
	/*
	 * copy_tags->reserved[1] fails alone (reserved[1]=1): expect EINVAL,
	 * every earlier check satisfied [reserved_1_nonzero,
	 * 002_640e98e582cbc741.txt:717]
	 */
	{
		.id = "copy_tags.reserved_1_nonzero",
		.requires = 1, .requires_cap = KCONFORM_KVM_CAP_ARM_MTE,
		.skip_reason = kc_skip_0,
		.nsteps = 4,
		.steps = {
			{ .kind = KC_CREATE_VM },
			{ .kind = KC_ENABLE_CAP, .cap = KCONFORM_KVM_CAP_ARM_MTE },
			{ .kind = KC_ADD_MEMSLOT, .slot = 0,
			  .guest_ipa = { .pages = 256 }, .pages = 8
			},
			{ .kind = KC_VM_IOCTL, .op = KC_OP_KVM_ARM_MTE_COPY_TAGS,
			  .v[0] = { .pages = 256 },	/* guest_ipa */
			  .v[1] = { .pages = 1 },	/* length */
			  .v[2] = { .bytes = 0x1 },	/* flags */
			  .v[4] = { .bytes = 0x1 },	/* reserved[1] */
			  .buf = { .present = 1,
			    .length = { .pages = 1, .div = 16 },
			    .valid = { .pages = 1, .div = 16 },
			    .fill = KC_FILL_SENTINEL, .seed = 0 }
			},
		},
	},
	/*
	 * copy_tags->flags & (~KVM_ARM_TAGS_FROM_GUEST) fails alone (flags
	 * += 0x2): expect EINVAL, every earlier check satisfied
	 * [flags_invalid_bits, 002_640e98e582cbc741.txt:720]
	 */
	{
		.id = "copy_tags.flags_invalid_bits",
		.requires = 1, .requires_cap = KCONFORM_KVM_CAP_ARM_MTE,
		.skip_reason = kc_skip_0,
		.nsteps = 4,
		.steps = {
			{ .kind = KC_CREATE_VM },
			{ .kind = KC_ENABLE_CAP, .cap = KCONFORM_KVM_CAP_ARM_MTE },
			{ .kind = KC_ADD_MEMSLOT, .slot = 0,
			  .guest_ipa = { .pages = 256 }, .pages = 8
			},
			{ .kind = KC_VM_IOCTL, .op = KC_OP_KVM_ARM_MTE_COPY_TAGS,
			  .v[0] = { .pages = 256 },	/* guest_ipa */
			  .v[1] = { .pages = 1 },	/* length */
			  .v[2] = { .bytes = 0x3 },	/* flags */
			  .buf = { .present = 1,
			    .length = { .pages = 1, .div = 16 },
			    .valid = { .pages = 1, .div = 16 },
			    .fill = KC_FILL_SENTINEL, .seed = 0 }
			},
		},
	},
	/*
	 * length & (~PAGE_MASK) fails alone (length += 0x10): expect EINVAL,
	 * every earlier check satisfied [length_unaligned,
	 * 002_640e98e582cbc741.txt:723]
	 */
	{
		.id = "copy_tags.length_unaligned",
		.requires = 1, .requires_cap = KCONFORM_KVM_CAP_ARM_MTE,
		.skip_reason = kc_skip_0,
		.nsteps = 4,
		.steps = {
			{ .kind = KC_CREATE_VM },
			{ .kind = KC_ENABLE_CAP, .cap = KCONFORM_KVM_CAP_ARM_MTE },
			{ .kind = KC_ADD_MEMSLOT, .slot = 0,
			  .guest_ipa = { .pages = 256 }, .pages = 8
			},
			{ .kind = KC_VM_IOCTL, .op = KC_OP_KVM_ARM_MTE_COPY_TAGS,
			  .v[0] = { .pages = 256 },	/* guest_ipa */
			  .v[1] = { .pages = 1, .bytes = 0x10 },	/* length */
			  .v[2] = { .bytes = 0x1 },	/* flags */
			  .buf = { .present = 1,
			    .length = { .pages = 1, .bytes = 0x10, .div = 16 },
			    .valid = { .pages = 1, .bytes = 0x10, .div = 16 },
			    .fill = KC_FILL_SENTINEL, .seed = 0 }
			},
		},
	},
	/*
	 * guest_ipa & (~PAGE_MASK) fails alone (guest_ipa += 0x10): expect
	 * EINVAL, every earlier check satisfied [guest_ipa_unaligned,
	 * 002_640e98e582cbc741.txt:723]
	 */
	{
		.id = "copy_tags.guest_ipa_unaligned",
		.requires = 1, .requires_cap = KCONFORM_KVM_CAP_ARM_MTE,
		.skip_reason = kc_skip_0,
		.nsteps = 4,
		.steps = {
			{ .kind = KC_CREATE_VM },
			{ .kind = KC_ENABLE_CAP, .cap = KCONFORM_KVM_CAP_ARM_MTE },
			{ .kind = KC_ADD_MEMSLOT, .slot = 0,
			  .guest_ipa = { .pages = 256 }, .pages = 8
			},
			{ .kind = KC_VM_IOCTL, .op = KC_OP_KVM_ARM_MTE_COPY_TAGS,
			  .v[0] = { .pages = 256, .bytes = 0x10 },	/* guest_ipa */
			  .v[1] = { .pages = 1 },	/* length */
			  .v[2] = { .bytes = 0x1 },	/* flags */
			  .buf = { .present = 1,
			    .length = { .pages = 1, .div = 16 },
			    .valid = { .pages = 1, .div = 16 },
			    .fill = KC_FILL_SENTINEL, .seed = 0 }
			},
		},
	},
	/*
	 * is_error_noslot_pfn(pfn) fails alone (lever ipa_outside_memslot):
	 * expect EFAULT, every earlier check satisfied [no_memslot,
	 * 002_640e98e582cbc741.txt:735]
	 */
	{
		.id = "copy_tags.no_memslot",
		.requires = 1, .requires_cap = KCONFORM_KVM_CAP_ARM_MTE,
		.skip_reason = kc_skip_0,
		.nsteps = 4,
		.steps = {
			{ .kind = KC_CREATE_VM },
			{ .kind = KC_ENABLE_CAP, .cap = KCONFORM_KVM_CAP_ARM_MTE },
			{ .kind = KC_ADD_MEMSLOT, .slot = 0,
			  .guest_ipa = { .pages = 256 }, .pages = 8
			},
			{ .kind = KC_VM_IOCTL, .op = KC_OP_KVM_ARM_MTE_COPY_TAGS,
			  .v[0] = { .pages = 288 },	/* guest_ipa */
			  .v[1] = { .pages = 1 },	/* length */
			  .v[2] = { .bytes = 0x1 },	/* flags */
			  .buf = { .present = 1,
			    .length = { .pages = 1, .div = 16 },
			    .valid = { .pages = 1, .div = 16 },
			    .fill = KC_FILL_SENTINEL, .seed = 0 }
			},
		},
	},
	/*
	 * num_tags != (PAGE_SIZE / MTE_GRANULE_SIZE) fails alone (lever
	 * bad_buffer_pointer): expect EFAULT, every earlier check satisfied
	 * [num_tags_mismatch, 002_640e98e582cbc741.txt:751]
	 */
	{
		.id = "copy_tags.num_tags_mismatch",
		.requires = 1, .requires_cap = KCONFORM_KVM_CAP_ARM_MTE,
		.skip_reason = kc_skip_0,
		.nsteps = 4,
		.steps = {
			{ .kind = KC_CREATE_VM },
			{ .kind = KC_ENABLE_CAP, .cap = KCONFORM_KVM_CAP_ARM_MTE },
			{ .kind = KC_ADD_MEMSLOT, .slot = 0,
			  .guest_ipa = { .pages = 256 }, .pages = 8
			},
			{ .kind = KC_VM_IOCTL, .op = KC_OP_KVM_ARM_MTE_COPY_TAGS,
			  .v[0] = { .pages = 256 },	/* guest_ipa */
			  .v[1] = { .pages = 1 },	/* length */
			  .v[2] = { .bytes = 0x1 },	/* flags */
			  .buf = { .present = 1,
			    .length = { .pages = 1, .div = 16 },
			    .valid = { 0 },
			    .fill = KC_FILL_SENTINEL, .seed = 0 }
			},
		},
	},
	/*
	 * not_cap_enabled and user_read_faults both fail: not_cap_enabled
	 * comes first (order 1 < 2), so EINVAL, not EFAULT
	 * [order.not_cap_enabled+user_read_faults,
	 * 002_640e98e582cbc741.txt:776]
	 */
	{
		.id = "copy_tags.pair.not_cap_enabled+user_read_faults",
		.requires = 1, .requires_cap = KCONFORM_KVM_CAP_ARM_MTE,
		.skip_reason = kc_skip_0,
		.nsteps = 3,
		.steps = {
			{ .kind = KC_CREATE_VM },
			{ .kind = KC_ADD_MEMSLOT, .slot = 0,
			  .guest_ipa = { .pages = 256 }, .pages = 8
			},
			{ .kind = KC_VM_IOCTL, .op = KC_OP_KVM_ARM_MTE_COPY_TAGS,
			  .v[0] = { .pages = 256 },	/* guest_ipa */
			  .v[1] = { .pages = 1 },	/* length */
			  .v[2] = { .bytes = 0x1 },	/* flags */
			  .argp = KC_ARG_UNMAPPED,
			  .buf = { .present = 1,
			    .length = { .pages = 1, .div = 16 },
			    .valid = { .pages = 1, .div = 16 },
			    .fill = KC_FILL_SENTINEL, .seed = 0 }
			},
		},
	},
	/*
	 * not_cap_enabled and no_memslot both fail: not_cap_enabled comes
	 * first (order 1 < 8), so EINVAL, not EFAULT
	 * [order.not_cap_enabled+no_memslot, 002_640e98e582cbc741.txt:776]
	 */
	{
		.id = "copy_tags.pair.not_cap_enabled+no_memslot",
		.requires = 1, .requires_cap = KCONFORM_KVM_CAP_ARM_MTE,
		.skip_reason = kc_skip_0,
		.nsteps = 3,
		.steps = {
			{ .kind = KC_CREATE_VM },
			{ .kind = KC_ADD_MEMSLOT, .slot = 0,
			  .guest_ipa = { .pages = 256 }, .pages = 8
			},
			{ .kind = KC_VM_IOCTL, .op = KC_OP_KVM_ARM_MTE_COPY_TAGS,
			  .v[0] = { .pages = 288 },	/* guest_ipa */
			  .v[1] = { .pages = 1 },	/* length */
			  .v[2] = { .bytes = 0x1 },	/* flags */
			  .buf = { .present = 1,
			    .length = { .pages = 1, .div = 16 },
			    .valid = { .pages = 1, .div = 16 },
			    .fill = KC_FILL_SENTINEL, .seed = 0 }
			},
		},
	},
	/*
	 * not_cap_enabled and num_tags_mismatch both fail: not_cap_enabled
	 * comes first (order 1 < 9), so EINVAL, not EFAULT
	 * [order.not_cap_enabled+num_tags_mismatch,
	 * 002_640e98e582cbc741.txt:776]
	 */
	{
		.id = "copy_tags.pair.not_cap_enabled+num_tags_mismatch",
		.requires = 1, .requires_cap = KCONFORM_KVM_CAP_ARM_MTE,
		.skip_reason = kc_skip_0,
		.nsteps = 3,
		.steps = {
			{ .kind = KC_CREATE_VM },
			{ .kind = KC_ADD_MEMSLOT, .slot = 0,
			  .guest_ipa = { .pages = 256 }, .pages = 8
			},
			{ .kind = KC_VM_IOCTL, .op = KC_OP_KVM_ARM_MTE_COPY_TAGS,
			  .v[0] = { .pages = 256 },	/* guest_ipa */
			  .v[1] = { .pages = 1 },	/* length */
			  .v[2] = { .bytes = 0x1 },	/* flags */
			  .buf = { .present = 1,
			    .length = { .pages = 1, .div = 16 },
			    .valid = { 0 },
			    .fill = KC_FILL_SENTINEL, .seed = 0 }
			},
		},
	},
	/*
	 * user_read_faults and reserved_0_nonzero both fail:
	 * user_read_faults comes first (order 2 < 3), so EFAULT, not EINVAL
	 * [order.user_read_faults+reserved_0_nonzero,
	 * 002_640e98e582cbc741.txt:779]
	 */
	{
		.id = "copy_tags.pair.user_read_faults+reserved_0_nonzero",
		.requires = 1, .requires_cap = KCONFORM_KVM_CAP_ARM_MTE,
		.skip_reason = kc_skip_0,
		.nsteps = 4,
		.steps = {
			{ .kind = KC_CREATE_VM },
			{ .kind = KC_ENABLE_CAP, .cap = KCONFORM_KVM_CAP_ARM_MTE },
			{ .kind = KC_ADD_MEMSLOT, .slot = 0,
			  .guest_ipa = { .pages = 256 }, .pages = 8
			},
			{ .kind = KC_VM_IOCTL, .op = KC_OP_KVM_ARM_MTE_COPY_TAGS,
			  .v[0] = { .pages = 256 },	/* guest_ipa */
			  .v[1] = { .pages = 1 },	/* length */
			  .v[2] = { .bytes = 0x1 },	/* flags */
			  .v[3] = { .bytes = 0x1 },	/* reserved[0] */
			  .argp = KC_ARG_UNMAPPED,
			  .buf = { .present = 1,
			    .length = { .pages = 1, .div = 16 },
			    .valid = { .pages = 1, .div = 16 },
			    .fill = KC_FILL_SENTINEL, .seed = 0 }
			},
		},
	},
	/*
	 * user_read_faults and reserved_1_nonzero both fail:
	 * user_read_faults comes first (order 2 < 4), so EFAULT, not EINVAL
	 * [order.user_read_faults+reserved_1_nonzero,
	 * 002_640e98e582cbc741.txt:779]
	 */
	{
		.id = "copy_tags.pair.user_read_faults+reserved_1_nonzero",
		.requires = 1, .requires_cap = KCONFORM_KVM_CAP_ARM_MTE,
		.skip_reason = kc_skip_0,
		.nsteps = 4,
		.steps = {
			{ .kind = KC_CREATE_VM },
			{ .kind = KC_ENABLE_CAP, .cap = KCONFORM_KVM_CAP_ARM_MTE },
			{ .kind = KC_ADD_MEMSLOT, .slot = 0,
			  .guest_ipa = { .pages = 256 }, .pages = 8
			},
			{ .kind = KC_VM_IOCTL, .op = KC_OP_KVM_ARM_MTE_COPY_TAGS,
			  .v[0] = { .pages = 256 },	/* guest_ipa */
			  .v[1] = { .pages = 1 },	/* length */
			  .v[2] = { .bytes = 0x1 },	/* flags */
			  .v[4] = { .bytes = 0x1 },	/* reserved[1] */
			  .argp = KC_ARG_UNMAPPED,
			  .buf = { .present = 1,
			    .length = { .pages = 1, .div = 16 },
			    .valid = { .pages = 1, .div = 16 },
			    .fill = KC_FILL_SENTINEL, .seed = 0 }
			},
		},
	},
	/*
	 * user_read_faults and flags_invalid_bits both fail:
	 * user_read_faults comes first (order 2 < 5), so EFAULT, not EINVAL
	 * [order.user_read_faults+flags_invalid_bits,
	 * 002_640e98e582cbc741.txt:779]
	 */
	{
		.id = "copy_tags.pair.user_read_faults+flags_invalid_bits",
		.requires = 1, .requires_cap = KCONFORM_KVM_CAP_ARM_MTE,
		.skip_reason = kc_skip_0,
		.nsteps = 4,
		.steps = {
			{ .kind = KC_CREATE_VM },
			{ .kind = KC_ENABLE_CAP, .cap = KCONFORM_KVM_CAP_ARM_MTE },
			{ .kind = KC_ADD_MEMSLOT, .slot = 0,
			  .guest_ipa = { .pages = 256 }, .pages = 8
			},
			{ .kind = KC_VM_IOCTL, .op = KC_OP_KVM_ARM_MTE_COPY_TAGS,
			  .v[0] = { .pages = 256 },	/* guest_ipa */
			  .v[1] = { .pages = 1 },	/* length */
			  .v[2] = { .bytes = 0x3 },	/* flags */
			  .argp = KC_ARG_UNMAPPED,
			  .buf = { .present = 1,
			    .length = { .pages = 1, .div = 16 },
			    .valid = { .pages = 1, .div = 16 },
			    .fill = KC_FILL_SENTINEL, .seed = 0 }
			},
		},
	},
	/*
	 * user_read_faults and length_unaligned both fail: user_read_faults
	 * comes first (order 2 < 6), so EFAULT, not EINVAL
	 * [order.user_read_faults+length_unaligned,
	 * 002_640e98e582cbc741.txt:779]
	 */
	{
		.id = "copy_tags.pair.user_read_faults+length_unaligned",
		.requires = 1, .requires_cap = KCONFORM_KVM_CAP_ARM_MTE,
		.skip_reason = kc_skip_0,
		.nsteps = 4,
		.steps = {
			{ .kind = KC_CREATE_VM },
			{ .kind = KC_ENABLE_CAP, .cap = KCONFORM_KVM_CAP_ARM_MTE },
			{ .kind = KC_ADD_MEMSLOT, .slot = 0,
			  .guest_ipa = { .pages = 256 }, .pages = 8
			},
			{ .kind = KC_VM_IOCTL, .op = KC_OP_KVM_ARM_MTE_COPY_TAGS,
			  .v[0] = { .pages = 256 },	/* guest_ipa */
			  .v[1] = { .pages = 1, .bytes = 0x10 },	/* length */
			  .v[2] = { .bytes = 0x1 },	/* flags */
			  .argp = KC_ARG_UNMAPPED,
			  .buf = { .present = 1,
			    .length = { .pages = 1, .bytes = 0x10, .div = 16 },
			    .valid = { .pages = 1, .bytes = 0x10, .div = 16 },
			    .fill = KC_FILL_SENTINEL, .seed = 0 }
			},
		},
	},
	/*
	 * user_read_faults and guest_ipa_unaligned both fail:
	 * user_read_faults comes first (order 2 < 7), so EFAULT, not EINVAL
	 * [order.user_read_faults+guest_ipa_unaligned,
	 * 002_640e98e582cbc741.txt:779]
	 */
	{
		.id = "copy_tags.pair.user_read_faults+guest_ipa_unaligned",
		.requires = 1, .requires_cap = KCONFORM_KVM_CAP_ARM_MTE,
		.skip_reason = kc_skip_0,
		.nsteps = 4,
		.steps = {
			{ .kind = KC_CREATE_VM },
			{ .kind = KC_ENABLE_CAP, .cap = KCONFORM_KVM_CAP_ARM_MTE },
			{ .kind = KC_ADD_MEMSLOT, .slot = 0,
			  .guest_ipa = { .pages = 256 }, .pages = 8
			},
			{ .kind = KC_VM_IOCTL, .op = KC_OP_KVM_ARM_MTE_COPY_TAGS,
			  .v[0] = { .pages = 256, .bytes = 0x10 },	/* guest_ipa */
			  .v[1] = { .pages = 1 },	/* length */
			  .v[2] = { .bytes = 0x1 },	/* flags */
			  .argp = KC_ARG_UNMAPPED,
			  .buf = { .present = 1,
			    .length = { .pages = 1, .div = 16 },
			    .valid = { .pages = 1, .div = 16 },
			    .fill = KC_FILL_SENTINEL, .seed = 0 }
			},
		},
	},
	/*
	 * reserved_0_nonzero and no_memslot both fail: reserved_0_nonzero
	 * comes first (order 3 < 8), so EINVAL, not EFAULT
	 * [order.reserved_0_nonzero+no_memslot,
	 * 002_640e98e582cbc741.txt:717]
	 */
	{
		.id = "copy_tags.pair.reserved_0_nonzero+no_memslot",
		.requires = 1, .requires_cap = KCONFORM_KVM_CAP_ARM_MTE,
		.skip_reason = kc_skip_0,
		.nsteps = 4,
		.steps = {
			{ .kind = KC_CREATE_VM },
			{ .kind = KC_ENABLE_CAP, .cap = KCONFORM_KVM_CAP_ARM_MTE },
			{ .kind = KC_ADD_MEMSLOT, .slot = 0,
			  .guest_ipa = { .pages = 256 }, .pages = 8
			},
			{ .kind = KC_VM_IOCTL, .op = KC_OP_KVM_ARM_MTE_COPY_TAGS,
			  .v[0] = { .pages = 288 },	/* guest_ipa */
			  .v[1] = { .pages = 1 },	/* length */
			  .v[2] = { .bytes = 0x1 },	/* flags */
			  .v[3] = { .bytes = 0x1 },	/* reserved[0] */
			  .buf = { .present = 1,
			    .length = { .pages = 1, .div = 16 },
			    .valid = { .pages = 1, .div = 16 },
			    .fill = KC_FILL_SENTINEL, .seed = 0 }
			},
		},
	},
	/*
	 * reserved_0_nonzero and num_tags_mismatch both fail:
	 * reserved_0_nonzero comes first (order 3 < 9), so EINVAL, not
	 * EFAULT [order.reserved_0_nonzero+num_tags_mismatch,
	 * 002_640e98e582cbc741.txt:717]
	 */
	{
		.id = "copy_tags.pair.reserved_0_nonzero+num_tags_mismatch",
		.requires = 1, .requires_cap = KCONFORM_KVM_CAP_ARM_MTE,
		.skip_reason = kc_skip_0,
		.nsteps = 4,
		.steps = {
			{ .kind = KC_CREATE_VM },
			{ .kind = KC_ENABLE_CAP, .cap = KCONFORM_KVM_CAP_ARM_MTE },
			{ .kind = KC_ADD_MEMSLOT, .slot = 0,
			  .guest_ipa = { .pages = 256 }, .pages = 8
			},
			{ .kind = KC_VM_IOCTL, .op = KC_OP_KVM_ARM_MTE_COPY_TAGS,
			  .v[0] = { .pages = 256 },	/* guest_ipa */
			  .v[1] = { .pages = 1 },	/* length */
			  .v[2] = { .bytes = 0x1 },	/* flags */
			  .v[3] = { .bytes = 0x1 },	/* reserved[0] */
			  .buf = { .present = 1,
			    .length = { .pages = 1, .div = 16 },
			    .valid = { 0 },
			    .fill = KC_FILL_SENTINEL, .seed = 0 }
			},
		},
	},
	/*
	 * reserved_1_nonzero and no_memslot both fail: reserved_1_nonzero
	 * comes first (order 4 < 8), so EINVAL, not EFAULT
	 * [order.reserved_1_nonzero+no_memslot,
	 * 002_640e98e582cbc741.txt:717]
	 */
	{
		.id = "copy_tags.pair.reserved_1_nonzero+no_memslot",
		.requires = 1, .requires_cap = KCONFORM_KVM_CAP_ARM_MTE,
		.skip_reason = kc_skip_0,
		.nsteps = 4,
		.steps = {
			{ .kind = KC_CREATE_VM },
			{ .kind = KC_ENABLE_CAP, .cap = KCONFORM_KVM_CAP_ARM_MTE },
			{ .kind = KC_ADD_MEMSLOT, .slot = 0,
			  .guest_ipa = { .pages = 256 }, .pages = 8
			},
			{ .kind = KC_VM_IOCTL, .op = KC_OP_KVM_ARM_MTE_COPY_TAGS,
			  .v[0] = { .pages = 288 },	/* guest_ipa */
			  .v[1] = { .pages = 1 },	/* length */
			  .v[2] = { .bytes = 0x1 },	/* flags */
			  .v[4] = { .bytes = 0x1 },	/* reserved[1] */
			  .buf = { .present = 1,
			    .length = { .pages = 1, .div = 16 },
			    .valid = { .pages = 1, .div = 16 },
			    .fill = KC_FILL_SENTINEL, .seed = 0 }
			},
		},
	},
	/*
	 * reserved_1_nonzero and num_tags_mismatch both fail:
	 * reserved_1_nonzero comes first (order 4 < 9), so EINVAL, not
	 * EFAULT [order.reserved_1_nonzero+num_tags_mismatch,
	 * 002_640e98e582cbc741.txt:717]
	 */
	{
		.id = "copy_tags.pair.reserved_1_nonzero+num_tags_mismatch",
		.requires = 1, .requires_cap = KCONFORM_KVM_CAP_ARM_MTE,
		.skip_reason = kc_skip_0,
		.nsteps = 4,
		.steps = {
			{ .kind = KC_CREATE_VM },
			{ .kind = KC_ENABLE_CAP, .cap = KCONFORM_KVM_CAP_ARM_MTE },
			{ .kind = KC_ADD_MEMSLOT, .slot = 0,
			  .guest_ipa = { .pages = 256 }, .pages = 8
			},
			{ .kind = KC_VM_IOCTL, .op = KC_OP_KVM_ARM_MTE_COPY_TAGS,
			  .v[0] = { .pages = 256 },	/* guest_ipa */
			  .v[1] = { .pages = 1 },	/* length */
			  .v[2] = { .bytes = 0x1 },	/* flags */
			  .v[4] = { .bytes = 0x1 },	/* reserved[1] */
			  .buf = { .present = 1,
			    .length = { .pages = 1, .div = 16 },
			    .valid = { 0 },
			    .fill = KC_FILL_SENTINEL, .seed = 0 }
			},
		},
	},
	/*
	 * flags_invalid_bits and no_memslot both fail: flags_invalid_bits
	 * comes first (order 5 < 8), so EINVAL, not EFAULT
	 * [order.flags_invalid_bits+no_memslot,
	 * 002_640e98e582cbc741.txt:720]
	 */
	{
		.id = "copy_tags.pair.flags_invalid_bits+no_memslot",
		.requires = 1, .requires_cap = KCONFORM_KVM_CAP_ARM_MTE,
		.skip_reason = kc_skip_0,
		.nsteps = 4,
		.steps = {
			{ .kind = KC_CREATE_VM },
			{ .kind = KC_ENABLE_CAP, .cap = KCONFORM_KVM_CAP_ARM_MTE },
			{ .kind = KC_ADD_MEMSLOT, .slot = 0,
			  .guest_ipa = { .pages = 256 }, .pages = 8
			},
			{ .kind = KC_VM_IOCTL, .op = KC_OP_KVM_ARM_MTE_COPY_TAGS,
			  .v[0] = { .pages = 288 },	/* guest_ipa */
			  .v[1] = { .pages = 1 },	/* length */
			  .v[2] = { .bytes = 0x3 },	/* flags */
			  .buf = { .present = 1,
			    .length = { .pages = 1, .div = 16 },
			    .valid = { .pages = 1, .div = 16 },
			    .fill = KC_FILL_SENTINEL, .seed = 0 }
			},
		},
	},
	/*
	 * flags_invalid_bits and num_tags_mismatch both fail:
	 * flags_invalid_bits comes first (order 5 < 9), so EINVAL, not
	 * EFAULT [order.flags_invalid_bits+num_tags_mismatch,
	 * 002_640e98e582cbc741.txt:720]
	 */
	{
		.id = "copy_tags.pair.flags_invalid_bits+num_tags_mismatch",
		.requires = 1, .requires_cap = KCONFORM_KVM_CAP_ARM_MTE,
		.skip_reason = kc_skip_0,
		.nsteps = 4,
		.steps = {
			{ .kind = KC_CREATE_VM },
			{ .kind = KC_ENABLE_CAP, .cap = KCONFORM_KVM_CAP_ARM_MTE },
			{ .kind = KC_ADD_MEMSLOT, .slot = 0,
			  .guest_ipa = { .pages = 256 }, .pages = 8
			},
			{ .kind = KC_VM_IOCTL, .op = KC_OP_KVM_ARM_MTE_COPY_TAGS,
			  .v[0] = { .pages = 256 },	/* guest_ipa */
			  .v[1] = { .pages = 1 },	/* length */
			  .v[2] = { .bytes = 0x3 },	/* flags */
			  .buf = { .present = 1,
			    .length = { .pages = 1, .div = 16 },
			    .valid = { 0 },
			    .fill = KC_FILL_SENTINEL, .seed = 0 }
			},
		},
	},
	/*
	 * length_unaligned and no_memslot both fail: length_unaligned comes
	 * first (order 6 < 8), so EINVAL, not EFAULT
	 * [order.length_unaligned+no_memslot, 002_640e98e582cbc741.txt:723]
	 */
	{
		.id = "copy_tags.pair.length_unaligned+no_memslot",
		.requires = 1, .requires_cap = KCONFORM_KVM_CAP_ARM_MTE,
		.skip_reason = kc_skip_0,
		.nsteps = 4,
		.steps = {
			{ .kind = KC_CREATE_VM },
			{ .kind = KC_ENABLE_CAP, .cap = KCONFORM_KVM_CAP_ARM_MTE },
			{ .kind = KC_ADD_MEMSLOT, .slot = 0,
			  .guest_ipa = { .pages = 256 }, .pages = 8
			},
			{ .kind = KC_VM_IOCTL, .op = KC_OP_KVM_ARM_MTE_COPY_TAGS,
			  .v[0] = { .pages = 288 },	/* guest_ipa */
			  .v[1] = { .pages = 1, .bytes = 0x10 },	/* length */
			  .v[2] = { .bytes = 0x1 },	/* flags */
			  .buf = { .present = 1,
			    .length = { .pages = 1, .bytes = 0x10, .div = 16 },
			    .valid = { .pages = 1, .bytes = 0x10, .div = 16 },
			    .fill = KC_FILL_SENTINEL, .seed = 0 }
			},
		},
	},
	/*
	 * length_unaligned and num_tags_mismatch both fail: length_unaligned
	 * comes first (order 6 < 9), so EINVAL, not EFAULT
	 * [order.length_unaligned+num_tags_mismatch,
	 * 002_640e98e582cbc741.txt:723]
	 */
	{
		.id = "copy_tags.pair.length_unaligned+num_tags_mismatch",
		.requires = 1, .requires_cap = KCONFORM_KVM_CAP_ARM_MTE,
		.skip_reason = kc_skip_0,
		.nsteps = 4,
		.steps = {
			{ .kind = KC_CREATE_VM },
			{ .kind = KC_ENABLE_CAP, .cap = KCONFORM_KVM_CAP_ARM_MTE },
			{ .kind = KC_ADD_MEMSLOT, .slot = 0,
			  .guest_ipa = { .pages = 256 }, .pages = 8
			},
			{ .kind = KC_VM_IOCTL, .op = KC_OP_KVM_ARM_MTE_COPY_TAGS,
			  .v[0] = { .pages = 256 },	/* guest_ipa */
			  .v[1] = { .pages = 1, .bytes = 0x10 },	/* length */
			  .v[2] = { .bytes = 0x1 },	/* flags */
			  .buf = { .present = 1,
			    .length = { .pages = 1, .bytes = 0x10, .div = 16 },
			    .valid = { 0 },
			    .fill = KC_FILL_SENTINEL, .seed = 0 }
			},
		},
	},
	/*
	 * guest_ipa_unaligned and no_memslot both fail: guest_ipa_unaligned
	 * comes first (order 7 < 8), so EINVAL, not EFAULT
	 * [order.guest_ipa_unaligned+no_memslot,
	 * 002_640e98e582cbc741.txt:723]
	 */
	{
		.id = "copy_tags.pair.guest_ipa_unaligned+no_memslot",
		.requires = 1, .requires_cap = KCONFORM_KVM_CAP_ARM_MTE,
		.skip_reason = kc_skip_0,
		.nsteps = 4,
		.steps = {
			{ .kind = KC_CREATE_VM },
			{ .kind = KC_ENABLE_CAP, .cap = KCONFORM_KVM_CAP_ARM_MTE },
			{ .kind = KC_ADD_MEMSLOT, .slot = 0,
			  .guest_ipa = { .pages = 256 }, .pages = 8
			},
			{ .kind = KC_VM_IOCTL, .op = KC_OP_KVM_ARM_MTE_COPY_TAGS,
			  .v[0] = { .pages = 288, .bytes = 0x10 },	/* guest_ipa */
			  .v[1] = { .pages = 1 },	/* length */
			  .v[2] = { .bytes = 0x1 },	/* flags */
			  .buf = { .present = 1,
			    .length = { .pages = 1, .div = 16 },
			    .valid = { .pages = 1, .div = 16 },
			    .fill = KC_FILL_SENTINEL, .seed = 0 }
			},
		},
	},
	/*
	 * guest_ipa_unaligned and num_tags_mismatch both fail:
	 * guest_ipa_unaligned comes first (order 7 < 9), so EINVAL, not
	 * EFAULT [order.guest_ipa_unaligned+num_tags_mismatch,
	 * 002_640e98e582cbc741.txt:723]
	 */
	{
		.id = "copy_tags.pair.guest_ipa_unaligned+num_tags_mismatch",
		.requires = 1, .requires_cap = KCONFORM_KVM_CAP_ARM_MTE,
		.skip_reason = kc_skip_0,
		.nsteps = 4,
		.steps = {
			{ .kind = KC_CREATE_VM },
			{ .kind = KC_ENABLE_CAP, .cap = KCONFORM_KVM_CAP_ARM_MTE },
			{ .kind = KC_ADD_MEMSLOT, .slot = 0,
			  .guest_ipa = { .pages = 256 }, .pages = 8
			},
			{ .kind = KC_VM_IOCTL, .op = KC_OP_KVM_ARM_MTE_COPY_TAGS,
			  .v[0] = { .pages = 256, .bytes = 0x10 },	/* guest_ipa */
			  .v[1] = { .pages = 1 },	/* length */
			  .v[2] = { .bytes = 0x1 },	/* flags */
			  .buf = { .present = 1,
			    .length = { .pages = 1, .div = 16 },
			    .valid = { 0 },
			    .fill = KC_FILL_SENTINEL, .seed = 0 }
			},
		},
	},
	/*
	 * write a distinct tag per granule over 4 pages, read them back
	 * [success, 002_640e98e582cbc741.txt:763]
	 */
	{
		.id = "copy_tags.valid.roundtrip_4pages",
		.requires = 1, .requires_cap = KCONFORM_KVM_CAP_ARM_MTE,
		.skip_reason = kc_skip_0,
		.nsteps = 5,
		.steps = {
			{ .kind = KC_CREATE_VM },
			{ .kind = KC_ENABLE_CAP, .cap = KCONFORM_KVM_CAP_ARM_MTE },
			{ .kind = KC_ADD_MEMSLOT, .slot = 0,
			  .guest_ipa = { .pages = 256 }, .pages = 8
			},
			{ .kind = KC_VM_IOCTL, .op = KC_OP_KVM_ARM_MTE_COPY_TAGS,
			  .v[0] = { .pages = 256 },	/* guest_ipa */
			  .v[1] = { .pages = 4 },	/* length */
			  .buf = { .present = 1,
			    .length = { .pages = 4, .div = 16 },
			    .valid = { .pages = 4, .div = 16 },
			    .fill = KC_FILL_PATTERN, .seed = 1 }
			},
			{ .kind = KC_VM_IOCTL, .op = KC_OP_KVM_ARM_MTE_COPY_TAGS,
			  .v[0] = { .pages = 256 },	/* guest_ipa */
			  .v[1] = { .pages = 4 },	/* length */
			  .v[2] = { .bytes = 0x1 },	/* flags */
			  .buf = { .present = 1,
			    .length = { .pages = 4, .div = 16 },
			    .valid = { .pages = 4, .div = 16 },
			    .fill = KC_FILL_SENTINEL, .seed = 0 }
			},
		},
	},
	/*
	 * length 0 copies nothing and succeeds [success,
	 * 002_640e98e582cbc741.txt:763]
	 */
	{
		.id = "copy_tags.valid.length_zero",
		.requires = 1, .requires_cap = KCONFORM_KVM_CAP_ARM_MTE,
		.skip_reason = kc_skip_0,
		.nsteps = 4,
		.steps = {
			{ .kind = KC_CREATE_VM },
			{ .kind = KC_ENABLE_CAP, .cap = KCONFORM_KVM_CAP_ARM_MTE },
			{ .kind = KC_ADD_MEMSLOT, .slot = 0,
			  .guest_ipa = { .pages = 256 }, .pages = 8
			},
			{ .kind = KC_VM_IOCTL, .op = KC_OP_KVM_ARM_MTE_COPY_TAGS,
			  .v[0] = { .pages = 256 },	/* guest_ipa */
			  .v[2] = { .bytes = 0x1 },	/* flags */
			  .buf = { .present = 1,
			    .length = { .div = 16 },
			    .valid = { .div = 16 },
			    .fill = KC_FILL_SENTINEL, .seed = 0 }
			},
		},
	},
	/*
	 * tags of pages never written read as zero [success,
	 * 002_640e98e582cbc741.txt:763]
	 */
	{
		.id = "copy_tags.valid.never_written",
		.requires = 1, .requires_cap = KCONFORM_KVM_CAP_ARM_MTE,
		.skip_reason = kc_skip_0,
		.nsteps = 4,
		.steps = {
			{ .kind = KC_CREATE_VM },
			{ .kind = KC_ENABLE_CAP, .cap = KCONFORM_KVM_CAP_ARM_MTE },
			{ .kind = KC_ADD_MEMSLOT, .slot = 0,
			  .guest_ipa = { .pages = 256 }, .pages = 8
			},
			{ .kind = KC_VM_IOCTL, .op = KC_OP_KVM_ARM_MTE_COPY_TAGS,
			  .v[0] = { .pages = 256 },	/* guest_ipa */
			  .v[1] = { .pages = 2 },	/* length */
			  .v[2] = { .bytes = 0x1 },	/* flags */
			  .buf = { .present = 1,
			    .length = { .pages = 2, .div = 16 },
			    .valid = { .pages = 2, .div = 16 },
			    .fill = KC_FILL_SENTINEL, .seed = 0 }
			},
		},
	},
	/*
	 * write 4 pages, the last 2 outside the memslot; the first 2 keep
	 * their tags [no_memslot, 002_640e98e582cbc741.txt:735]
	 */
	{
		.id = "copy_tags.partial.to_guest_past_slot_end",
		.requires = 1, .requires_cap = KCONFORM_KVM_CAP_ARM_MTE,
		.skip_reason = kc_skip_0,
		.nsteps = 5,
		.steps = {
			{ .kind = KC_CREATE_VM },
			{ .kind = KC_ENABLE_CAP, .cap = KCONFORM_KVM_CAP_ARM_MTE },
			{ .kind = KC_ADD_MEMSLOT, .slot = 0,
			  .guest_ipa = { .pages = 256 }, .pages = 8
			},
			{ .kind = KC_VM_IOCTL, .op = KC_OP_KVM_ARM_MTE_COPY_TAGS,
			  .v[0] = { .pages = 262 },	/* guest_ipa */
			  .v[1] = { .pages = 4 },	/* length */
			  .buf = { .present = 1,
			    .length = { .pages = 4, .div = 16 },
			    .valid = { .pages = 4, .div = 16 },
			    .fill = KC_FILL_PATTERN, .seed = 2 }
			},
			{ .kind = KC_VM_IOCTL, .op = KC_OP_KVM_ARM_MTE_COPY_TAGS,
			  .v[0] = { .pages = 262 },	/* guest_ipa */
			  .v[1] = { .pages = 2 },	/* length */
			  .v[2] = { .bytes = 0x1 },	/* flags */
			  .buf = { .present = 1,
			    .length = { .pages = 2, .div = 16 },
			    .valid = { .pages = 2, .div = 16 },
			    .fill = KC_FILL_SENTINEL, .seed = 0 }
			},
		},
	},
	/*
	 * read 4 pages, the last 2 outside the memslot; the first 2 reach
	 * the buffer [no_memslot, 002_640e98e582cbc741.txt:735]
	 */
	{
		.id = "copy_tags.partial.from_guest_past_slot_end",
		.requires = 1, .requires_cap = KCONFORM_KVM_CAP_ARM_MTE,
		.skip_reason = kc_skip_0,
		.nsteps = 5,
		.steps = {
			{ .kind = KC_CREATE_VM },
			{ .kind = KC_ENABLE_CAP, .cap = KCONFORM_KVM_CAP_ARM_MTE },
			{ .kind = KC_ADD_MEMSLOT, .slot = 0,
			  .guest_ipa = { .pages = 256 }, .pages = 8
			},
			{ .kind = KC_VM_IOCTL, .op = KC_OP_KVM_ARM_MTE_COPY_TAGS,
			  .v[0] = { .pages = 262 },	/* guest_ipa */
			  .v[1] = { .pages = 2 },	/* length */
			  .buf = { .present = 1,
			    .length = { .pages = 2, .div = 16 },
			    .valid = { .pages = 2, .div = 16 },
			    .fill = KC_FILL_PATTERN, .seed = 3 }
			},
			{ .kind = KC_VM_IOCTL, .op = KC_OP_KVM_ARM_MTE_COPY_TAGS,
			  .v[0] = { .pages = 262 },	/* guest_ipa */
			  .v[1] = { .pages = 4 },	/* length */
			  .v[2] = { .bytes = 0x1 },	/* flags */
			  .buf = { .present = 1,
			    .length = { .pages = 4, .div = 16 },
			    .valid = { .pages = 4, .div = 16 },
			    .fill = KC_FILL_SENTINEL, .seed = 0 }
			},
		},
	},
	/*
	 * write 4 pages from a buffer mapped for 2: the first 2 are written,
	 * then the copy faults [num_tags_mismatch,
	 * 002_640e98e582cbc741.txt:751]
	 */
	{
		.id = "copy_tags.partial.short_buffer",
		.requires = 1, .requires_cap = KCONFORM_KVM_CAP_ARM_MTE,
		.skip_reason = kc_skip_0,
		.nsteps = 5,
		.steps = {
			{ .kind = KC_CREATE_VM },
			{ .kind = KC_ENABLE_CAP, .cap = KCONFORM_KVM_CAP_ARM_MTE },
			{ .kind = KC_ADD_MEMSLOT, .slot = 0,
			  .guest_ipa = { .pages = 256 }, .pages = 8
			},
			{ .kind = KC_VM_IOCTL, .op = KC_OP_KVM_ARM_MTE_COPY_TAGS,
			  .v[0] = { .pages = 256 },	/* guest_ipa */
			  .v[1] = { .pages = 4 },	/* length */
			  .buf = { .present = 1,
			    .length = { .pages = 4, .div = 16 },
			    .valid = { .pages = 2, .div = 16 },
			    .fill = KC_FILL_PATTERN, .seed = 4 }
			},
			{ .kind = KC_VM_IOCTL, .op = KC_OP_KVM_ARM_MTE_COPY_TAGS,
			  .v[0] = { .pages = 256 },	/* guest_ipa */
			  .v[1] = { .pages = 4 },	/* length */
			  .v[2] = { .bytes = 0x1 },	/* flags */
			  .buf = { .present = 1,
			    .length = { .pages = 4, .div = 16 },
			    .valid = { .pages = 4, .div = 16 },
			    .fill = KC_FILL_SENTINEL, .seed = 0 }
			},
		},
	},
	/*
	 * KVM_CHECK_EXTENSION(195), the patch's number for KVM_CAP_ARM_MTE,
	 * answers as KVM_CAP_ARM_MTE does [cap_number,
	 * 002_640e98e582cbc741.txt:280]
	 */
	{
		.id = "cap.number",
		.nsteps = 2,
		.steps = {
			{ .kind = KC_CREATE_VM },
			{ .kind = KC_CHECK_EXTENSION, .cap = KCONFORM_KVM_CAP_ARM_MTE_PATCH },
		},
	},
	/*
	 * KVM_GET_ONE_REG(ID_AA64PFR1_EL1).ID_AA64PFR1_MTE, KVM_CAP_ARM_MTE
	 * enabled: ID_AA64PFR1_MTE when `kvm_has_mte(vcpu->kvm)`, else 0
	 * [id_aa64pfr1_el1.mte, 002_640e98e582cbc741.txt:266]
	 */
	{
		.id = "guest.id_aa64pfr1_el1.mte.get_one_reg.enabled",
		.requires = 1, .requires_cap = KCONFORM_KVM_CAP_ARM_MTE,
		.skip_reason = kc_skip_0,
		.nsteps = 4,
		.steps = {
			{ .kind = KC_CREATE_VM },
			{ .kind = KC_ENABLE_CAP, .cap = KCONFORM_KVM_CAP_ARM_MTE },
			{ .kind = KC_VCPU_START },
			{ .kind = KC_GET_ONE_REG, .reg = KC_SYSREG_ID_AA64PFR1_EL1, .shift = 8, .width = 4 },
		},
	},
	/*
	 * the guest's mrs ID_AA64PFR1_EL1: ID_AA64PFR1_MTE, KVM_CAP_ARM_MTE
	 * enabled: ID_AA64PFR1_MTE when `kvm_has_mte(vcpu->kvm)`, else 0
	 * [id_aa64pfr1_el1.mte, 002_640e98e582cbc741.txt:266]
	 */
	{
		.id = "guest.id_aa64pfr1_el1.mte.mrs.enabled",
		.requires = 1, .requires_cap = KCONFORM_KVM_CAP_ARM_MTE,
		.skip_reason = kc_skip_0,
		.nsteps = 4,
		.steps = {
			{ .kind = KC_CREATE_VM },
			{ .kind = KC_ENABLE_CAP, .cap = KCONFORM_KVM_CAP_ARM_MTE },
			{ .kind = KC_VCPU_START },
			{ .kind = KC_GUEST, .gop = KC_GOP_MRS,
			  .gargs = { { .bytes = KC_MRS_ID_AA64PFR1_EL1 } },
			  .report = KC_REPORT_FIELD, .shift = 8, .width = 4
			},
		},
	},
	/*
	 * KVM_GET_ONE_REG(ID_AA64PFR1_EL1).ID_AA64PFR1_MTE, KVM_CAP_ARM_MTE
	 * disabled: ID_AA64PFR1_MTE when `kvm_has_mte(vcpu->kvm)`, else 0
	 * [id_aa64pfr1_el1.mte, 002_640e98e582cbc741.txt:266]
	 */
	{
		.id = "guest.id_aa64pfr1_el1.mte.get_one_reg.disabled",
		.nsteps = 3,
		.steps = {
			{ .kind = KC_CREATE_VM },
			{ .kind = KC_VCPU_START },
			{ .kind = KC_GET_ONE_REG, .reg = KC_SYSREG_ID_AA64PFR1_EL1, .shift = 8, .width = 4 },
		},
	},
	/*
	 * the guest's mrs ID_AA64PFR1_EL1: ID_AA64PFR1_MTE, KVM_CAP_ARM_MTE
	 * disabled: ID_AA64PFR1_MTE when `kvm_has_mte(vcpu->kvm)`, else 0
	 * [id_aa64pfr1_el1.mte, 002_640e98e582cbc741.txt:266]
	 */
	{
		.id = "guest.id_aa64pfr1_el1.mte.mrs.disabled",
		.nsteps = 3,
		.steps = {
			{ .kind = KC_CREATE_VM },
			{ .kind = KC_VCPU_START },
			{ .kind = KC_GUEST, .gop = KC_GOP_MRS,
			  .gargs = { { .bytes = KC_MRS_ID_AA64PFR1_EL1 } },
			  .report = KC_REPORT_FIELD, .shift = 8, .width = 4
			},
		},
	},
	/*
	 * KVM_GET_REG_LIST lists RGSR_EL1, GCR_EL1, TFSR_EL1, TFSRE0_EL1
	 * exactly when `kvm_has_mte(vcpu->kvm)` (KVM_CAP_ARM_MTE enabled)
	 * [mte_visibility, 002_640e98e582cbc741.txt:633]
	 */
	{
		.id = "guest.mte_visibility.reg_list.enabled",
		.requires = 1, .requires_cap = KCONFORM_KVM_CAP_ARM_MTE,
		.skip_reason = kc_skip_0,
		.nsteps = 4,
		.steps = {
			{ .kind = KC_CREATE_VM },
			{ .kind = KC_ENABLE_CAP, .cap = KCONFORM_KVM_CAP_ARM_MTE },
			{ .kind = KC_VCPU_START },
			{ .kind = KC_REG_LIST,
			  .regs = { KC_SYSREG_RGSR_EL1, KC_SYSREG_GCR_EL1, KC_SYSREG_TFSR_EL1, KC_SYSREG_TFSRE0_EL1 }
			},
		},
	},
	/*
	 * KVM_GET_ONE_REG and KVM_SET_ONE_REG of RGSR_EL1, KVM_CAP_ARM_MTE
	 * enabled: 0 when `kvm_has_mte(vcpu->kvm)`, else REG_HIDDEN
	 * [mte_visibility, 002_640e98e582cbc741.txt:633]
	 */
	{
		.id = "guest.mte_visibility.rgsr_el1.one_reg.enabled",
		.requires = 1, .requires_cap = KCONFORM_KVM_CAP_ARM_MTE,
		.skip_reason = kc_skip_0,
		.nsteps = 5,
		.steps = {
			{ .kind = KC_CREATE_VM },
			{ .kind = KC_ENABLE_CAP, .cap = KCONFORM_KVM_CAP_ARM_MTE },
			{ .kind = KC_VCPU_START },
			{ .kind = KC_GET_ONE_REG, .reg = KC_SYSREG_RGSR_EL1 },
			{ .kind = KC_SET_ONE_REG, .reg = KC_SYSREG_RGSR_EL1 },
		},
	},
	/*
	 * KVM_GET_ONE_REG and KVM_SET_ONE_REG of GCR_EL1, KVM_CAP_ARM_MTE
	 * enabled: 0 when `kvm_has_mte(vcpu->kvm)`, else REG_HIDDEN
	 * [mte_visibility, 002_640e98e582cbc741.txt:633]
	 */
	{
		.id = "guest.mte_visibility.gcr_el1.one_reg.enabled",
		.requires = 1, .requires_cap = KCONFORM_KVM_CAP_ARM_MTE,
		.skip_reason = kc_skip_0,
		.nsteps = 5,
		.steps = {
			{ .kind = KC_CREATE_VM },
			{ .kind = KC_ENABLE_CAP, .cap = KCONFORM_KVM_CAP_ARM_MTE },
			{ .kind = KC_VCPU_START },
			{ .kind = KC_GET_ONE_REG, .reg = KC_SYSREG_GCR_EL1 },
			{ .kind = KC_SET_ONE_REG, .reg = KC_SYSREG_GCR_EL1 },
		},
	},
	/*
	 * KVM_GET_ONE_REG and KVM_SET_ONE_REG of TFSR_EL1, KVM_CAP_ARM_MTE
	 * enabled: 0 when `kvm_has_mte(vcpu->kvm)`, else REG_HIDDEN
	 * [mte_visibility, 002_640e98e582cbc741.txt:633]
	 */
	{
		.id = "guest.mte_visibility.tfsr_el1.one_reg.enabled",
		.requires = 1, .requires_cap = KCONFORM_KVM_CAP_ARM_MTE,
		.skip_reason = kc_skip_0,
		.nsteps = 5,
		.steps = {
			{ .kind = KC_CREATE_VM },
			{ .kind = KC_ENABLE_CAP, .cap = KCONFORM_KVM_CAP_ARM_MTE },
			{ .kind = KC_VCPU_START },
			{ .kind = KC_GET_ONE_REG, .reg = KC_SYSREG_TFSR_EL1 },
			{ .kind = KC_SET_ONE_REG, .reg = KC_SYSREG_TFSR_EL1 },
		},
	},
	/*
	 * KVM_GET_ONE_REG and KVM_SET_ONE_REG of TFSRE0_EL1, KVM_CAP_ARM_MTE
	 * enabled: 0 when `kvm_has_mte(vcpu->kvm)`, else REG_HIDDEN
	 * [mte_visibility, 002_640e98e582cbc741.txt:633]
	 */
	{
		.id = "guest.mte_visibility.tfsre0_el1.one_reg.enabled",
		.requires = 1, .requires_cap = KCONFORM_KVM_CAP_ARM_MTE,
		.skip_reason = kc_skip_0,
		.nsteps = 5,
		.steps = {
			{ .kind = KC_CREATE_VM },
			{ .kind = KC_ENABLE_CAP, .cap = KCONFORM_KVM_CAP_ARM_MTE },
			{ .kind = KC_VCPU_START },
			{ .kind = KC_GET_ONE_REG, .reg = KC_SYSREG_TFSRE0_EL1 },
			{ .kind = KC_SET_ONE_REG, .reg = KC_SYSREG_TFSRE0_EL1 },
		},
	},
	/*
	 * KVM_GET_REG_LIST lists RGSR_EL1, GCR_EL1, TFSR_EL1, TFSRE0_EL1
	 * exactly when `kvm_has_mte(vcpu->kvm)` (KVM_CAP_ARM_MTE disabled)
	 * [mte_visibility, 002_640e98e582cbc741.txt:633]
	 */
	{
		.id = "guest.mte_visibility.reg_list.disabled",
		.nsteps = 3,
		.steps = {
			{ .kind = KC_CREATE_VM },
			{ .kind = KC_VCPU_START },
			{ .kind = KC_REG_LIST,
			  .regs = { KC_SYSREG_RGSR_EL1, KC_SYSREG_GCR_EL1, KC_SYSREG_TFSR_EL1, KC_SYSREG_TFSRE0_EL1 }
			},
		},
	},
	/*
	 * KVM_GET_ONE_REG and KVM_SET_ONE_REG of RGSR_EL1, KVM_CAP_ARM_MTE
	 * disabled: 0 when `kvm_has_mte(vcpu->kvm)`, else REG_HIDDEN
	 * [mte_visibility, 002_640e98e582cbc741.txt:633]
	 */
	{
		.id = "guest.mte_visibility.rgsr_el1.one_reg.disabled",
		.nsteps = 4,
		.steps = {
			{ .kind = KC_CREATE_VM },
			{ .kind = KC_VCPU_START },
			{ .kind = KC_GET_ONE_REG, .reg = KC_SYSREG_RGSR_EL1 },
			{ .kind = KC_SET_ONE_REG, .reg = KC_SYSREG_RGSR_EL1 },
		},
	},
	/*
	 * KVM_GET_ONE_REG and KVM_SET_ONE_REG of GCR_EL1, KVM_CAP_ARM_MTE
	 * disabled: 0 when `kvm_has_mte(vcpu->kvm)`, else REG_HIDDEN
	 * [mte_visibility, 002_640e98e582cbc741.txt:633]
	 */
	{
		.id = "guest.mte_visibility.gcr_el1.one_reg.disabled",
		.nsteps = 4,
		.steps = {
			{ .kind = KC_CREATE_VM },
			{ .kind = KC_VCPU_START },
			{ .kind = KC_GET_ONE_REG, .reg = KC_SYSREG_GCR_EL1 },
			{ .kind = KC_SET_ONE_REG, .reg = KC_SYSREG_GCR_EL1 },
		},
	},
	/*
	 * KVM_GET_ONE_REG and KVM_SET_ONE_REG of TFSR_EL1, KVM_CAP_ARM_MTE
	 * disabled: 0 when `kvm_has_mte(vcpu->kvm)`, else REG_HIDDEN
	 * [mte_visibility, 002_640e98e582cbc741.txt:633]
	 */
	{
		.id = "guest.mte_visibility.tfsr_el1.one_reg.disabled",
		.nsteps = 4,
		.steps = {
			{ .kind = KC_CREATE_VM },
			{ .kind = KC_VCPU_START },
			{ .kind = KC_GET_ONE_REG, .reg = KC_SYSREG_TFSR_EL1 },
			{ .kind = KC_SET_ONE_REG, .reg = KC_SYSREG_TFSR_EL1 },
		},
	},
	/*
	 * KVM_GET_ONE_REG and KVM_SET_ONE_REG of TFSRE0_EL1, KVM_CAP_ARM_MTE
	 * disabled: 0 when `kvm_has_mte(vcpu->kvm)`, else REG_HIDDEN
	 * [mte_visibility, 002_640e98e582cbc741.txt:633]
	 */
	{
		.id = "guest.mte_visibility.tfsre0_el1.one_reg.disabled",
		.nsteps = 4,
		.steps = {
			{ .kind = KC_CREATE_VM },
			{ .kind = KC_VCPU_START },
			{ .kind = KC_GET_ONE_REG, .reg = KC_SYSREG_TFSRE0_EL1 },
			{ .kind = KC_SET_ONE_REG, .reg = KC_SYSREG_TFSRE0_EL1 },
		},
	},
	/*
	 * the guest reads RGSR_EL1, GCR_EL1, TFSR_EL1, TFSRE0_EL1: HCR_ATA
	 * set when `kvm_has_mte(vcpu->kvm)` untraps them, else they trap to
	 * `undef_access` (KVM_CAP_ARM_MTE enabled) [hcr.ata,
	 * 002_640e98e582cbc741.txt:191]
	 */
	{
		.id = "guest.hcr.ata.mrs.enabled",
		.requires = 1, .requires_cap = KCONFORM_KVM_CAP_ARM_MTE,
		.skip_reason = kc_skip_0,
		.nsteps = 7,
		.steps = {
			{ .kind = KC_CREATE_VM },
			{ .kind = KC_ENABLE_CAP, .cap = KCONFORM_KVM_CAP_ARM_MTE },
			{ .kind = KC_VCPU_START },
			{ .kind = KC_GUEST, .gop = KC_GOP_MRS,
			  .gargs = { { .bytes = KC_MRS_RGSR_EL1 } },
			  .report = KC_REPORT_ACCESS
			},
			{ .kind = KC_GUEST, .gop = KC_GOP_MRS,
			  .gargs = { { .bytes = KC_MRS_GCR_EL1 } },
			  .report = KC_REPORT_ACCESS
			},
			{ .kind = KC_GUEST, .gop = KC_GOP_MRS,
			  .gargs = { { .bytes = KC_MRS_TFSR_EL1 } },
			  .report = KC_REPORT_ACCESS
			},
			{ .kind = KC_GUEST, .gop = KC_GOP_MRS,
			  .gargs = { { .bytes = KC_MRS_TFSRE0_EL1 } },
			  .report = KC_REPORT_ACCESS
			},
		},
	},
	/*
	 * the guest reads RGSR_EL1, GCR_EL1, TFSR_EL1, TFSRE0_EL1: HCR_ATA
	 * set when `kvm_has_mte(vcpu->kvm)` untraps them, else they trap to
	 * `undef_access` (KVM_CAP_ARM_MTE disabled) [hcr.ata,
	 * 002_640e98e582cbc741.txt:191]
	 */
	{
		.id = "guest.hcr.ata.mrs.disabled",
		.nsteps = 6,
		.steps = {
			{ .kind = KC_CREATE_VM },
			{ .kind = KC_VCPU_START },
			{ .kind = KC_GUEST, .gop = KC_GOP_MRS,
			  .gargs = { { .bytes = KC_MRS_RGSR_EL1 } },
			  .report = KC_REPORT_ACCESS
			},
			{ .kind = KC_GUEST, .gop = KC_GOP_MRS,
			  .gargs = { { .bytes = KC_MRS_GCR_EL1 } },
			  .report = KC_REPORT_ACCESS
			},
			{ .kind = KC_GUEST, .gop = KC_GOP_MRS,
			  .gargs = { { .bytes = KC_MRS_TFSR_EL1 } },
			  .report = KC_REPORT_ACCESS
			},
			{ .kind = KC_GUEST, .gop = KC_GOP_MRS,
			  .gargs = { { .bytes = KC_MRS_TFSRE0_EL1 } },
			  .report = KC_REPORT_ACCESS
			},
		},
	},
	/*
	 * PSR_TCO_BIT in PSTATE on entry to the UNDEF KVM injects for the
	 * guest's mrs PMCR_EL0: set when `kvm_has_mte(vcpu->kvm)`
	 * (KVM_CAP_ARM_MTE enabled) [exception.tco,
	 * 002_640e98e582cbc741.txt:226]
	 */
	{
		.id = "guest.exception.tco.enabled",
		.requires = 1, .requires_cap = KCONFORM_KVM_CAP_ARM_MTE,
		.skip_reason = kc_skip_0,
		.nsteps = 4,
		.steps = {
			{ .kind = KC_CREATE_VM },
			{ .kind = KC_ENABLE_CAP, .cap = KCONFORM_KVM_CAP_ARM_MTE },
			{ .kind = KC_VCPU_START },
			{ .kind = KC_GUEST, .gop = KC_GOP_MRS,
			  .gargs = { { .bytes = KC_MRS_PMCR_EL0 } },
			  .report = KC_REPORT_TCO
			},
		},
	},
	/*
	 * PSR_TCO_BIT in PSTATE on entry to the UNDEF KVM injects for the
	 * guest's mrs PMCR_EL0: set when `kvm_has_mte(vcpu->kvm)`
	 * (KVM_CAP_ARM_MTE disabled) [exception.tco,
	 * 002_640e98e582cbc741.txt:226]
	 */
	{
		.id = "guest.exception.tco.disabled",
		.nsteps = 3,
		.steps = {
			{ .kind = KC_CREATE_VM },
			{ .kind = KC_VCPU_START },
			{ .kind = KC_GUEST, .gop = KC_GOP_MRS,
			  .gargs = { { .bytes = KC_MRS_PMCR_EL0 } },
			  .report = KC_REPORT_TCO
			},
		},
	},
	/*
	 * the guest sets a tag per granule with stg over 4 pages;
	 * KVM_ARM_MTE_COPY_TAGS reads the same tags back [tags.init,
	 * 002_640e98e582cbc741.txt:240]
	 */
	{
		.id = "guest.tags.init.guest_stg_vmm_reads",
		.requires = 1, .requires_cap = KCONFORM_KVM_CAP_ARM_MTE,
		.skip_reason = kc_skip_0,
		.nsteps = 6,
		.steps = {
			{ .kind = KC_CREATE_VM },
			{ .kind = KC_ENABLE_CAP, .cap = KCONFORM_KVM_CAP_ARM_MTE },
			{ .kind = KC_ADD_MEMSLOT, .slot = 0,
			  .guest_ipa = { .pages = 256 }, .pages = 8
			},
			{ .kind = KC_VCPU_START },
			{ .kind = KC_GUEST, .gop = KC_GOP_STG,
			  .gargs = { { .pages = 256 }, { .pages = 4 }, { .bytes = 0x5 } },
			  .report = KC_REPORT_COUNT
			},
			{ .kind = KC_VM_IOCTL, .op = KC_OP_KVM_ARM_MTE_COPY_TAGS,
			  .v[0] = { .pages = 256 },	/* guest_ipa */
			  .v[1] = { .pages = 4 },	/* length */
			  .v[2] = { .bytes = 0x1 },	/* flags */
			  .buf = { .present = 1,
			    .length = { .pages = 4, .div = 16 },
			    .valid = { .pages = 4, .div = 16 },
			    .fill = KC_FILL_SENTINEL, .seed = 0 }
			},
		},
	},
	/*
	 * KVM_ARM_MTE_COPY_TAGS writes a tag per granule over 4 pages; the
	 * guest's ldg reads the same tags [tags.init,
	 * 002_640e98e582cbc741.txt:240]
	 */
	{
		.id = "guest.tags.init.vmm_writes_guest_ldg",
		.requires = 1, .requires_cap = KCONFORM_KVM_CAP_ARM_MTE,
		.skip_reason = kc_skip_0,
		.nsteps = 6,
		.steps = {
			{ .kind = KC_CREATE_VM },
			{ .kind = KC_ENABLE_CAP, .cap = KCONFORM_KVM_CAP_ARM_MTE },
			{ .kind = KC_ADD_MEMSLOT, .slot = 0,
			  .guest_ipa = { .pages = 256 }, .pages = 8
			},
			{ .kind = KC_VCPU_START },
			{ .kind = KC_VM_IOCTL, .op = KC_OP_KVM_ARM_MTE_COPY_TAGS,
			  .v[0] = { .pages = 256 },	/* guest_ipa */
			  .v[1] = { .pages = 4 },	/* length */
			  .buf = { .present = 1,
			    .length = { .pages = 4, .div = 16 },
			    .valid = { .pages = 4, .div = 16 },
			    .fill = KC_FILL_PATTERN, .seed = 6 }
			},
			{ .kind = KC_GUEST, .gop = KC_GOP_LDG,
			  .gargs = { { .pages = 256 }, { .pages = 4 } },
			  .report = KC_REPORT_TAGS
			},
		},
	},
	/*
	 * pages nobody tagged read as tag 0 from the guest
	 * (`mte_clear_page_tags` when the guest first maps them) [tags.init,
	 * 002_640e98e582cbc741.txt:240]
	 */
	{
		.id = "guest.tags.init.untouched_guest_ldg",
		.requires = 1, .requires_cap = KCONFORM_KVM_CAP_ARM_MTE,
		.skip_reason = kc_skip_0,
		.nsteps = 5,
		.steps = {
			{ .kind = KC_CREATE_VM },
			{ .kind = KC_ENABLE_CAP, .cap = KCONFORM_KVM_CAP_ARM_MTE },
			{ .kind = KC_ADD_MEMSLOT, .slot = 0,
			  .guest_ipa = { .pages = 256 }, .pages = 8
			},
			{ .kind = KC_VCPU_START },
			{ .kind = KC_GUEST, .gop = KC_GOP_LDG,
			  .gargs = { { .pages = 256 }, { .pages = 4 } },
			  .report = KC_REPORT_TAGS
			},
		},
	},
	/*
	 * the guest tags 4 pages, the host pushes the VMM's mapping out to
	 * swap (MADV_PAGEOUT), the guest's ldg and the VMM's tag copy bring
	 * them back with the same tags [tags.init,
	 * 002_640e98e582cbc741.txt:240]
	 */
	{
		.id = "guest.tags.init.swap",
		.requires = 1, .requires_cap = KCONFORM_KVM_CAP_ARM_MTE,
		.skip_reason = kc_skip_0,
		.nsteps = 8,
		.steps = {
			{ .kind = KC_CREATE_VM },
			{ .kind = KC_ENABLE_CAP, .cap = KCONFORM_KVM_CAP_ARM_MTE },
			{ .kind = KC_ADD_MEMSLOT, .slot = 0,
			  .guest_ipa = { .pages = 256 }, .pages = 8
			},
			{ .kind = KC_VCPU_START },
			{ .kind = KC_GUEST, .gop = KC_GOP_STG,
			  .gargs = { { .pages = 256 }, { .pages = 4 }, { .bytes = 0x7 } },
			  .report = KC_REPORT_COUNT
			},
			{ .kind = KC_PAGEOUT, .slot = 0 },
			{ .kind = KC_GUEST, .gop = KC_GOP_LDG,
			  .gargs = { { .pages = 256 }, { .pages = 4 } },
			  .report = KC_REPORT_TAGS
			},
			{ .kind = KC_VM_IOCTL, .op = KC_OP_KVM_ARM_MTE_COPY_TAGS,
			  .v[0] = { .pages = 256 },	/* guest_ipa */
			  .v[1] = { .pages = 4 },	/* length */
			  .v[2] = { .bytes = 0x1 },	/* flags */
			  .buf = { .present = 1,
			    .length = { .pages = 4, .div = 16 },
			    .valid = { .pages = 4, .div = 16 },
			    .fill = KC_FILL_SENTINEL, .seed = 0 }
			},
		},
	},
	/*
	 * a vCPU created before KVM_CAP_ARM_MTE is enabled: enabling fails
	 * and the guest sees ID_AA64PFR1_MTE = 0 [id_aa64pfr1_el1.mte,
	 * 002_640e98e582cbc741.txt:607]
	 */
	{
		.id = "guest.id_aa64pfr1_el1.mte.vcpu_before_cap",
		.requires = 1, .requires_cap = KCONFORM_KVM_CAP_ARM_MTE,
		.skip_reason = kc_skip_0,
		.nsteps = 5,
		.steps = {
			{ .kind = KC_CREATE_VM },
			{ .kind = KC_VCPU_START },
			{ .kind = KC_ENABLE_CAP, .cap = KCONFORM_KVM_CAP_ARM_MTE },
			{ .kind = KC_GUEST, .gop = KC_GOP_MRS,
			  .gargs = { { .bytes = KC_MRS_ID_AA64PFR1_EL1 } },
			  .report = KC_REPORT_FIELD, .shift = 8, .width = 4
			},
			{ .kind = KC_REG_LIST,
			  .regs = { KC_SYSREG_RGSR_EL1, KC_SYSREG_GCR_EL1, KC_SYSREG_TFSR_EL1, KC_SYSREG_TFSRE0_EL1 }
			},
		},
	},
	/*
	 * a vCPU created after KVM_CAP_ARM_MTE is enabled: the guest sees
	 * ID_AA64PFR1_MTE = ID_AA64PFR1_MTE [id_aa64pfr1_el1.mte,
	 * 002_640e98e582cbc741.txt:266]
	 */
	{
		.id = "guest.id_aa64pfr1_el1.mte.vcpu_after_cap",
		.requires = 1, .requires_cap = KCONFORM_KVM_CAP_ARM_MTE,
		.skip_reason = kc_skip_0,
		.nsteps = 5,
		.steps = {
			{ .kind = KC_CREATE_VM },
			{ .kind = KC_ENABLE_CAP, .cap = KCONFORM_KVM_CAP_ARM_MTE },
			{ .kind = KC_VCPU_START },
			{ .kind = KC_GUEST, .gop = KC_GOP_MRS,
			  .gargs = { { .bytes = KC_MRS_ID_AA64PFR1_EL1 } },
			  .report = KC_REPORT_FIELD, .shift = 8, .width = 4
			},
			{ .kind = KC_REG_LIST,
			  .regs = { KC_SYSREG_RGSR_EL1, KC_SYSREG_GCR_EL1, KC_SYSREG_TFSR_EL1, KC_SYSREG_TFSRE0_EL1 }
			},
		},
	},
};

int main(void)
{
	return kc_main("mte-v10", kc_cases,
		       (int)(sizeof(kc_cases) / sizeof(kc_cases[0])), kc_ops,
		       kc_bindings,
		       (int)(sizeof(kc_bindings) / sizeof(kc_bindings[0])));
}
