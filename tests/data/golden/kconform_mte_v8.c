// do not edit, generated from mte-v8 by kconform (render_c, binding=patch)
// SPDX-License-Identifier: GPL-2.0
/*
 * Conformance cases for mte-v8: KVM: arm64: ioctl to fetch/store tags in a guest
 * Seed: 000_87786364e6aad26e.txt
 *   v8 5/5: KVM: arm64: ioctl to fetch/store tags in a guest
 *
 * Each case is a row of steps run by kconform_runtime.h on a fresh VM.
 * Every step prints what it observed ("# kconform: case=... ret= errno=
 * digest="); this file does not judge the kernel: kconform cross-checks
 * the observations against the reference model generated from the same
 * spec.  "ok" means all observations of a case were made.
 *
 * Capability numbers (binding=patch):
 *   KVM_CAP_ARM_MTE: header -- spec mte-v8 defines no number: bound by name
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

/* uAPI of mte-v8, prefixed: <linux/kvm.h> has its own versions */
/* 000_87786364e6aad26e.txt:32 */
struct kconform_kvm_arm_copy_mte_tags {
	__u64 guest_ipa;
	__u64 length;
	union {
		void *addr;
		__u64 padding;
	};
	__u64 flags;
};

#define KCONFORM_KVM_ARM_TAGS_TO_GUEST	0	/* 000_87786364e6aad26e.txt:42 */
#define KCONFORM_KVM_ARM_TAGS_FROM_GUEST	1	/* 000_87786364e6aad26e.txt:43 */

/* 000_87786364e6aad26e.txt:131: _IOR(KVMIO, 0xb4, struct kvm_arm_copy_mte_tags) */
#define KCONFORM_KVM_ARM_MTE_COPY_TAGS \
	_IOR(0xae, 0xb4, struct kconform_kvm_arm_copy_mte_tags)
_Static_assert(sizeof(struct kconform_kvm_arm_copy_mte_tags) == 32,
	       "spec: sizeof(struct kvm_arm_copy_mte_tags) is 32");
_Static_assert(KCONFORM_KVM_ARM_MTE_COPY_TAGS == 0x8020aeb4UL,
	       "spec: KVM_ARM_MTE_COPY_TAGS is 0x8020aeb4");

/* ABI checks (generator.abi) */
_Static_assert(sizeof(struct kconform_kvm_arm_copy_mte_tags) == 32,
	       "sizeof(struct kvm_arm_copy_mte_tags) is 32 (000_87786364e6aad26e.txt:32 on arm64)");
_Static_assert(_Alignof(struct kconform_kvm_arm_copy_mte_tags) == 8,
	       "_Alignof(struct kvm_arm_copy_mte_tags) is 8 (000_87786364e6aad26e.txt:32 on arm64)");
_Static_assert(offsetof(struct kconform_kvm_arm_copy_mte_tags, guest_ipa) == 0,
	       "offsetof(struct kvm_arm_copy_mte_tags, guest_ipa) is 0 (000_87786364e6aad26e.txt:32 on arm64)");
_Static_assert(offsetof(struct kconform_kvm_arm_copy_mte_tags, length) == 8,
	       "offsetof(struct kvm_arm_copy_mte_tags, length) is 8 (000_87786364e6aad26e.txt:32 on arm64)");
_Static_assert(offsetof(struct kconform_kvm_arm_copy_mte_tags, addr) == 16,
	       "offsetof(struct kvm_arm_copy_mte_tags, addr) is 16 (000_87786364e6aad26e.txt:32 on arm64)");
_Static_assert(offsetof(struct kconform_kvm_arm_copy_mte_tags, padding) == 16,
	       "offsetof(struct kvm_arm_copy_mte_tags, padding) is 16 (000_87786364e6aad26e.txt:32 on arm64)");
_Static_assert(offsetof(struct kconform_kvm_arm_copy_mte_tags, flags) == 24,
	       "offsetof(struct kvm_arm_copy_mte_tags, flags) is 24 (000_87786364e6aad26e.txt:32 on arm64)");
_Static_assert(_IOC_SIZE(KCONFORM_KVM_ARM_MTE_COPY_TAGS) == sizeof(struct kconform_kvm_arm_copy_mte_tags),
	       "_IOC_SIZE(KVM_ARM_MTE_COPY_TAGS) is sizeof(struct kvm_arm_copy_mte_tags) (000_87786364e6aad26e.txt:131)");

#ifndef KVM_CAP_ARM_MTE
#error "KVM_CAP_ARM_MTE is not in <linux/kvm.h> and the spec gives no number"
#endif
#define KCONFORM_KVM_CAP_ARM_MTE	KVM_CAP_ARM_MTE
#define KCONFORM_KVM_CAP_ARM_MTE_HOW	"header"

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
	"KVM_CAP_ARM_MTE is not reported by KVM_CHECK_EXTENSION";

static const struct kc_case kc_cases[] = {
	/*
	 * !kvm_has_mte(kvm) fails alone (lever omit_cap_enable): expect
	 * EINVAL, every earlier check satisfied [not_cap_enabled,
	 * 000_87786364e6aad26e.txt:113]
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
	 * satisfied [user_read_faults, 000_87786364e6aad26e.txt:116]
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
	 * copy_tags->flags & (~KVM_ARM_TAGS_FROM_GUEST) fails alone (flags
	 * += 0x2): expect EINVAL, every earlier check satisfied
	 * [flags_invalid_bits, 000_87786364e6aad26e.txt:65]
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
	 * 000_87786364e6aad26e.txt:68]
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
	 * 000_87786364e6aad26e.txt:68]
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
	 * expect ENOENT, every earlier check satisfied [no_memslot,
	 * 000_87786364e6aad26e.txt:78]
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
	 * [num_tags_mismatch, 000_87786364e6aad26e.txt:92]
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
	 * 000_87786364e6aad26e.txt:113]
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
	 * first (order 1 < 6), so EINVAL, not ENOENT
	 * [order.not_cap_enabled+no_memslot, 000_87786364e6aad26e.txt:113]
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
	 * comes first (order 1 < 7), so EINVAL, not EFAULT
	 * [order.not_cap_enabled+num_tags_mismatch,
	 * 000_87786364e6aad26e.txt:113]
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
	 * user_read_faults and flags_invalid_bits both fail:
	 * user_read_faults comes first (order 2 < 3), so EFAULT, not EINVAL
	 * [order.user_read_faults+flags_invalid_bits,
	 * 000_87786364e6aad26e.txt:116]
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
	 * comes first (order 2 < 4), so EFAULT, not EINVAL
	 * [order.user_read_faults+length_unaligned,
	 * 000_87786364e6aad26e.txt:116]
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
	 * user_read_faults comes first (order 2 < 5), so EFAULT, not EINVAL
	 * [order.user_read_faults+guest_ipa_unaligned,
	 * 000_87786364e6aad26e.txt:116]
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
	 * user_read_faults and no_memslot both fail: user_read_faults comes
	 * first (order 2 < 6), so EFAULT, not ENOENT
	 * [order.user_read_faults+no_memslot, 000_87786364e6aad26e.txt:116]
	 */
	{
		.id = "copy_tags.pair.user_read_faults+no_memslot",
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
			  .argp = KC_ARG_UNMAPPED,
			  .buf = { .present = 1,
			    .length = { .pages = 1, .div = 16 },
			    .valid = { .pages = 1, .div = 16 },
			    .fill = KC_FILL_SENTINEL, .seed = 0 }
			},
		},
	},
	/*
	 * flags_invalid_bits and no_memslot both fail: flags_invalid_bits
	 * comes first (order 3 < 6), so EINVAL, not ENOENT
	 * [order.flags_invalid_bits+no_memslot, 000_87786364e6aad26e.txt:65]
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
	 * flags_invalid_bits comes first (order 3 < 7), so EINVAL, not
	 * EFAULT [order.flags_invalid_bits+num_tags_mismatch,
	 * 000_87786364e6aad26e.txt:65]
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
	 * first (order 4 < 6), so EINVAL, not ENOENT
	 * [order.length_unaligned+no_memslot, 000_87786364e6aad26e.txt:68]
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
	 * comes first (order 4 < 7), so EINVAL, not EFAULT
	 * [order.length_unaligned+num_tags_mismatch,
	 * 000_87786364e6aad26e.txt:68]
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
	 * comes first (order 5 < 6), so EINVAL, not ENOENT
	 * [order.guest_ipa_unaligned+no_memslot,
	 * 000_87786364e6aad26e.txt:68]
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
	 * guest_ipa_unaligned comes first (order 5 < 7), so EINVAL, not
	 * EFAULT [order.guest_ipa_unaligned+num_tags_mismatch,
	 * 000_87786364e6aad26e.txt:68]
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
	 * no_memslot and num_tags_mismatch both fail: no_memslot comes first
	 * (order 6 < 7), so ENOENT, not EFAULT
	 * [order.no_memslot+num_tags_mismatch, 000_87786364e6aad26e.txt:78]
	 */
	{
		.id = "copy_tags.pair.no_memslot+num_tags_mismatch",
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
			    .valid = { 0 },
			    .fill = KC_FILL_SENTINEL, .seed = 0 }
			},
		},
	},
	/*
	 * write a distinct tag per granule over 4 pages, read them back
	 * [success, 000_87786364e6aad26e.txt:100]
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
	 * 000_87786364e6aad26e.txt:100]
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
	 * 000_87786364e6aad26e.txt:100]
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
	 * their tags [no_memslot, 000_87786364e6aad26e.txt:78]
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
	 * the buffer [no_memslot, 000_87786364e6aad26e.txt:78]
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
	 * 000_87786364e6aad26e.txt:92]
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
};

int main(void)
{
	return kc_main("mte-v8", kc_cases,
		       (int)(sizeof(kc_cases) / sizeof(kc_cases[0])), kc_ops,
		       kc_bindings,
		       (int)(sizeof(kc_bindings) / sizeof(kc_bindings[0])));
}
