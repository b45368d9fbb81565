/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kconform guest entry and exception vectors.  The VMM sets PC to
 * kg_start and SP_EL1 to KG_STACK_TOP with KVM_SET_ONE_REG; the guest
 * runs at EL1h.  Every vector saves the caller-saved registers and calls
 * kg_exception(vector, frame); it returns to ELR_EL1 (which the handler
 * may have moved past the faulting instruction).
 */
#include "kconform_guest_abi.h"

	.section .text.start, "ax"
	.globl kg_start
kg_start:
	adr	x0, kg_vectors
	msr	vbar_el1, x0
	isb
	bl	kg_main
1:	wfi
	b	1b

	.macro	kg_vector idx
	.balign	128
	sub	sp, sp, #(22 * 8)
	stp	x0, x1, [sp, #0]
	mov	x0, #\idx
	b	kg_vector_common
	.endm

	.section .vectors, "ax"
	.balign	2048
	.globl kg_vectors
kg_vectors:
	.irp	i, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15
	kg_vector \i
	.endr

	.text
kg_vector_common:
	stp	x2, x3, [sp, #16]
	stp	x4, x5, [sp, #32]
	stp	x6, x7, [sp, #48]
	stp	x8, x9, [sp, #64]
	stp	x10, x11, [sp, #80]
	stp	x12, x13, [sp, #96]
	stp	x14, x15, [sp, #112]
	stp	x16, x17, [sp, #128]
	stp	x18, x30, [sp, #144]
	/* PSTATE.TCO as the exception entry left it (S3_3_C4_C2_7) */
	mrs	x1, s3_3_c4_c2_7
	bl	kg_exception
	ldp	x2, x3, [sp, #16]
	ldp	x4, x5, [sp, #32]
	ldp	x6, x7, [sp, #48]
	ldp	x8, x9, [sp, #64]
	ldp	x10, x11, [sp, #80]
	ldp	x12, x13, [sp, #96]
	ldp	x14, x15, [sp, #112]
	ldp	x16, x17, [sp, #128]
	ldp	x18, x30, [sp, #144]
	ldp	x0, x1, [sp, #0]
	add	sp, sp, #(22 * 8)
	eret
