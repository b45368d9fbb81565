/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kconform guest ABI: shared by the guest runtime (kconform_guest.c, built
 * freestanding and linked at KG_CODE_IPA) and the VMM side
 * (kconform_vcpu.h).  The VMM writes one command into the mailbox, runs
 * the vCPU, and the guest answers with a store to KG_MMIO_DONE (an address
 * no memslot backs, so KVM exits to userspace with KVM_EXIT_MMIO).
 */
#ifndef KCONFORM_GUEST_ABI_H
#define KCONFORM_GUEST_ABI_H

#define KG_CODE_IPA	0x10000000ULL	/* guest image (memslot KG_SLOT) */
#define KG_CODE_SIZE	0x40000ULL	/* image, page tables, stack, mailbox */
#define KG_MAILBOX_OFF	0x30000ULL
#define KG_MAILBOX	(KG_CODE_IPA + KG_MAILBOX_OFF)
#define KG_STACK_TOP	KG_MAILBOX	/* the stack grows down from here */
#define KG_SLOT		3		/* memslot number of the image */

#define KG_MMIO_BASE	0x40000000ULL	/* second GiB: Device memory, no slot */
#define KG_MMIO_DONE	(KG_MMIO_BASE + 0x00)	/* command finished */
#define KG_MMIO_FAULT	(KG_MMIO_BASE + 0x08)	/* unexpected exception */
#define KG_UNBACKED_IPA	(KG_MMIO_BASE + 0x1100)	/* no slot: KG_OP_LDP's target */

#define KG_MAX_TAGS	8192		/* granules one LDG command reads */

/* result of KG_OP_MRS when the access took an exception */
#define KG_MRS_FAULTED	0xfa17000000000000ULL

#ifndef __ASSEMBLER__
enum kg_op {
	KG_OP_NONE = 0,
	KG_OP_MRS,	/* a0 = mrs instruction (Rt = x0): value, or probe */
	KG_OP_STG,	/* a0 = ipa, a1 = bytes, a2 = seed: tag pattern (stgp) */
	KG_OP_LDG,	/* a0 = ipa, a1 = bytes: tags into mailbox.tags */
	KG_OP_SPIN,	/* set a1 = 1, then stay in the guest until op changes */
	KG_OP_LDP,	/* a0 = ipa: ldp x1, x2, [a0] (no ISV syndrome) */
	KG_OP_HVC,	/* a0..a2 = x0..x2 of an HVC #0: its x0 */
	KG_OP_SMC,	/* a0..a2 = x0..x2 of an SMC #0: its x0 */
};

struct kg_mailbox {
	unsigned long long op, a0, a1, a2;	/* command (VMM writes) */
	unsigned long long result;		/* also the KG_MMIO_DONE data */
	unsigned long long probing;		/* an exception is expected */
	unsigned long long nexc;		/* exceptions taken */
	unsigned long long esr, far, elr, spsr, vector, tco; /* the last */
	unsigned char tags[KG_MAX_TAGS];	/* LDG output, one per byte */
};
#endif
#endif /* KCONFORM_GUEST_ABI_H */
