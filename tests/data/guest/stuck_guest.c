// SPDX-License-Identifier: GPL-2.0
/*
 * FAKE guest image for tests: the runtime's VMM side with an image whose
 * first instruction branches to itself ("b ."), so the first guest command
 * never answers.  The test expects: that case is not ok with a timeout
 * reason, and the next case (no guest) still runs.
 */
#define KC_WITH_GUEST 1
#define KC_GUEST_TIMEOUT_S 2
#define KCONFORM_GUEST_BLOB_H 1	/* instead of the real image: */
static const unsigned char kc_guest_image[] = { 0x00, 0x00, 0x00, 0x14 };
#include "kconform_runtime.h"

static const struct kc_op kc_ops[1];
static const struct kc_binding kc_bindings[1];
static const struct kc_case kc_cases[] = {
	{ .id = "stuck", .nsteps = 3, .steps = {
		{ .kind = KC_CREATE_VM }, { .kind = KC_VCPU_START },
		{ .kind = KC_GUEST, .gop = KC_GOP_MRS,
		  .report = KC_REPORT_COUNT } } },
	{ .id = "after", .nsteps = 1, .steps = { { .kind = KC_CREATE_VM } } },
};

int main(void)
{
	return kc_main("stuck", kc_cases, 2, kc_ops, kc_bindings, 0);
}
