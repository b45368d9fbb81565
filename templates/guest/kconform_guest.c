// SPDX-License-Identifier: GPL-2.0
/*
 * kconform guest runtime: the only code that runs inside the test VMs.
 *
 * Freestanding (no libc), linked at KG_CODE_IPA and loaded there by the
 * VMM as a flat binary.  It builds a one-level identity map (first GiB
 * Normal Tagged memory, MAIR 0xF0; second GiB Device memory for the MMIO
 * doorbells), enables the MMU with SCTLR_EL1.ATA so MTE tag instructions
 * reach tag storage, then serves commands: the VMM writes one into the
 * mailbox and runs the vCPU; the guest executes it and stores the result
 * to KG_MMIO_DONE, which exits to the VMM.  Per-case guest programs are
 * the command tables the generated test holds; this file knows no case.
 *
 * An exception the current command expects (a probe) is recorded in the
 * mailbox and the faulting instruction is skipped; any other exception is
 * reported to KG_MMIO_FAULT with its syndrome, and the guest stops.
 */
#include "kconform_guest_abi.h"

typedef unsigned long long u64;

#define MB ((volatile struct kg_mailbox *)KG_MAILBOX)

/* MAIR_EL1 attribute indices */
#define ATTR_TAGGED	0		/* 0xF0: Normal, Tagged, WB */
#define ATTR_DEVICE	1		/* 0x04: Device-nGnRE */
#define MAIR_VALUE	(0xf0ULL | (0x04ULL << 8))

/* one level-1 table: 4K granule, 32-bit VA (T0SZ = 32), four 1 GiB blocks */
static u64 kg_l1[512] __attribute__((aligned(4096)));

#define PTE_BLOCK	0x1ULL
#define PTE_ATTR(i)	((u64)(i) << 2)
#define PTE_SH_INNER	(3ULL << 8)
#define PTE_AF		(1ULL << 10)
#define PTE_PXN		(1ULL << 53)
#define PTE_UXN		(1ULL << 54)

#define TCR_T0SZ	32ULL
#define TCR_IRGN0_WBWA	(1ULL << 8)
#define TCR_ORGN0_WBWA	(1ULL << 10)
#define TCR_SH0_INNER	(3ULL << 12)
#define TCR_EPD1	(1ULL << 23)
#define TCR_TBI0	(1ULL << 37)	/* tags live in the top byte */

#define SCTLR_M		(1ULL << 0)
#define SCTLR_C		(1ULL << 2)
#define SCTLR_I		(1ULL << 12)
#define SCTLR_TCF_MASK	(3ULL << 40)	/* 0: tag check faults have no effect */
#define SCTLR_ATA	(1ULL << 43)

#define ESR_EC(esr)	(((esr) >> 26) & 0x3f)

#define sysreg_write(name, v) \
	__asm__ volatile("msr " #name ", %0" : : "r"((u64)(v)) : "memory")
#define sysreg_read(name) ({ u64 __v; \
	__asm__ volatile("mrs %0, " #name : "=r"(__v)); __v; })

static void mmio_store(u64 addr, u64 value)
{
	__asm__ volatile("str %0, [%1]" : : "r"(value), "r"(addr) : "memory");
}

static void kg_mmu_on(void)
{
	u64 sctlr;

	kg_l1[0] = 0x00000000ULL | PTE_BLOCK | PTE_ATTR(ATTR_TAGGED) |
		   PTE_SH_INNER | PTE_AF;
	kg_l1[1] = 0x40000000ULL | PTE_BLOCK | PTE_ATTR(ATTR_DEVICE) |
		   PTE_AF | PTE_PXN | PTE_UXN;
	sysreg_write(mair_el1, MAIR_VALUE);
	sysreg_write(tcr_el1, TCR_T0SZ | TCR_IRGN0_WBWA | TCR_ORGN0_WBWA |
		     TCR_SH0_INNER | TCR_EPD1 | TCR_TBI0);
	sysreg_write(ttbr0_el1, (u64)kg_l1);
	__asm__ volatile("dsb ish; isb; tlbi vmalle1; dsb ish; isb" ::: "memory");
	sctlr = sysreg_read(sctlr_el1);
	sctlr &= ~SCTLR_TCF_MASK;
	sctlr |= SCTLR_M | SCTLR_C | SCTLR_I | SCTLR_ATA;
	sysreg_write(sctlr_el1, sctlr);
	__asm__ volatile("isb" ::: "memory");
}

/* called from the vectors with PSTATE.TCO as exception entry set it */
void kg_exception(u64 vector, u64 tco)
{
	u64 esr = sysreg_read(esr_el1), elr = sysreg_read(elr_el1);

	MB->nexc++;
	MB->esr = esr;
	MB->far = sysreg_read(far_el1);
	MB->elr = elr;
	MB->spsr = sysreg_read(spsr_el1);
	MB->vector = vector;
	MB->tco = (tco >> 25) & 1;
	/* a synchronous exception from the current EL a probe expects */
	if (MB->probing && (vector == 4 || vector == 0)) {
		MB->probing = 0;
		sysreg_write(elr_el1, elr + 4);
		return;
	}
	mmio_store(KG_MMIO_FAULT, esr);
	for (;;)
		__asm__ volatile("wfi");
}

/* the instruction slot KG_OP_MRS rewrites; followed by `ret` */
extern unsigned int kg_mrs_slot[];
u64 kg_mrs_call(void);
__asm__(".text\n"
	".balign 64\n"
	".globl kg_mrs_call\n"
	".globl kg_mrs_slot\n"
	"kg_mrs_call:\n"
	"kg_mrs_slot:\n"
	"	nop\n"
	"	ret\n");

static u64 kg_mrs(u64 insn)
{
	u64 before = MB->nexc, v;

	kg_mrs_slot[0] = (unsigned int)insn;
	__asm__ volatile("dc cvau, %0; dsb ish; ic ivau, %0; dsb ish; isb"
			 : : "r"(kg_mrs_slot) : "memory");
	MB->probing = 1;
	/* clear PSTATE.TCO so an exception entry that sets it is visible */
	__asm__ volatile(".arch_extension memtag\n msr tco, #0" ::: "memory");
	v = kg_mrs_call();
	MB->probing = 0;
	return MB->nexc != before ? KG_MRS_FAULTED : v;
}

/* tag of granule i: the same pattern as kc_pattern() in the VMM */
static unsigned int kg_pattern(u64 i, u64 seed)
{
	return (unsigned int)((i * 7 + (i >> 4) + seed * 5) & 0xf);
}

static u64 kg_stg(u64 ipa, u64 bytes, u64 seed)
{
	u64 i, n = bytes / 16;

	for (i = 0; i < n; i++) {
		u64 p = (ipa + i * 16) | ((u64)kg_pattern(i, seed) << 56);

		/* the tag and 16 bytes of data that are not zero, so the
		 * page's contents are real data to whoever swaps it out */
		__asm__ volatile(".arch_extension memtag\n stgp %1, %2, [%0]"
				 : : "r"(p), "r"(p | 1), "r"(~p) : "memory");
	}
	__asm__ volatile("dsb ish" ::: "memory");
	return n;
}

static u64 kg_ldg(u64 ipa, u64 bytes)
{
	u64 i, n = bytes / 16;

	if (n > KG_MAX_TAGS)
		n = KG_MAX_TAGS;
	for (i = 0; i < n; i++) {
		u64 p = ipa + i * 16;

		__asm__ volatile(".arch_extension memtag\n ldg %0, [%0]"
				 : "+r"(p) : : "memory");
		MB->tags[i] = (unsigned char)((p >> 56) & 0xf);
	}
	return n;
}

/* a load pair: the Arm ARM gives it no ISV syndrome on a stage-2 abort */
static u64 kg_ldp(u64 ipa)
{
	u64 a, b;

	__asm__ volatile("ldp %0, %1, [%2]" : "=&r"(a), "=&r"(b) : "r"(ipa) : "memory");
	return a ^ b;
}

/* an SMCCC call: x0..x2 in, x0 out; x4..x17 may be clobbered */
#define KG_SMCCC(insn)							\
static u64 kg_##insn(u64 a0, u64 a1, u64 a2)				\
{									\
	register u64 x0 __asm__("x0") = a0;				\
	register u64 x1 __asm__("x1") = a1;				\
	register u64 x2 __asm__("x2") = a2;				\
	register u64 x3 __asm__("x3") = 0;				\
									\
	__asm__ volatile(#insn " #0" : "+r"(x0), "+r"(x1), "+r"(x2), "+r"(x3) \
			 : : "x4", "x5", "x6", "x7", "x8", "x9", "x10", "x11", \
			 "x12", "x13", "x14", "x15", "x16", "x17", "memory"); \
	return x0;							\
}
KG_SMCCC(hvc)
KG_SMCCC(smc)

void kg_main(void)
{
	u64 r;

	kg_mmu_on();
	for (;;) {
		switch (MB->op) {
		case KG_OP_MRS:
			r = kg_mrs(MB->a0);
			break;
		case KG_OP_STG:
			r = kg_stg(MB->a0, MB->a1, MB->a2);
			break;
		case KG_OP_LDG:
			r = kg_ldg(MB->a0, MB->a1);
			break;
		case KG_OP_SPIN:	/* inside KVM_RUN until the VMM says */
			MB->a1 = 1;
			while (MB->op == KG_OP_SPIN)
				;
			r = 0;
			break;
		case KG_OP_LDP:
			r = kg_ldp(MB->a0);
			break;
		case KG_OP_HVC:
			r = kg_hvc(MB->a0, MB->a1, MB->a2);
			break;
		case KG_OP_SMC:
			r = kg_smc(MB->a0, MB->a1, MB->a2);
			break;
		default:
			r = ~0ULL;
			break;
		}
		MB->result = r;
		mmio_store(KG_MMIO_DONE, r);
	}
}
