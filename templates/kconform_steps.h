/* SPDX-License-Identifier: GPL-2.0 */
/* do not edit, generated from generator/model/case.py by kconform
 * (generator.render.c.steps_header); `kconform generate --check` and
 * tests/render/test_steps.py fail when it drifts. */
#ifndef KCONFORM_STEPS_H
#define KCONFORM_STEPS_H

enum kc_step_kind {
	KC_CREATE_VM = 1,	/* create_vm */
	KC_CHECK_EXTENSION,	/* check_extension */
	KC_ENABLE_CAP,	/* enable_cap */
	KC_CREATE_VCPU,	/* create_vcpu */
	KC_ADD_MEMSLOT,	/* add_memslot */
	KC_VM_IOCTL,	/* vm_ioctl */
	KC_VCPU_START,	/* vcpu_start */
	KC_GET_ONE_REG,	/* get_one_reg */
	KC_SET_ONE_REG,	/* set_one_reg */
	KC_REG_LIST,	/* reg_list */
	KC_GUEST,	/* guest */
	KC_PAGEOUT,	/* pageout */
	KC_DEVICE_ATTR,	/* device_attr */
	KC_DELETE_MEMSLOT,	/* delete_memslot */
	KC_DROP_CAPABILITY,	/* drop_capability */
	KC_VCPU_IN_RUN,	/* vcpu_in_run */
	KC_READ_BACK,	/* read_back */
	KC_GUEST_EXIT,	/* guest_exit */
	KC_RUN_FIELD,	/* run_field */
	KC_CREATE_DEVICE,	/* create_device */
};

enum kc_argp {
	KC_ARG_VALID = 0,	/* valid */
	KC_ARG_UNMAPPED,	/* unmapped */
};

enum kc_fill {
	KC_FILL_SENTINEL = 0,	/* sentinel */
	KC_FILL_PATTERN,	/* pattern */
};

enum kc_guest_op {
	KC_GOP_MRS = 1,	/* mrs */
	KC_GOP_STG,	/* stg */
	KC_GOP_LDG,	/* ldg */
	KC_GOP_SPIN,	/* spin */
	KC_GOP_LDP,	/* ldp */
	KC_GOP_HVC,	/* hvc */
	KC_GOP_SMC,	/* smc */
};

enum kc_report {
	KC_REPORT_FIELD = 0,	/* field */
	KC_REPORT_ACCESS,	/* access */
	KC_REPORT_TCO,	/* tco */
	KC_REPORT_TAGS,	/* tags */
	KC_REPORT_COUNT,	/* count */
};

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
	case KC_DEVICE_ATTR: return "device_attr";
	case KC_DELETE_MEMSLOT: return "delete_memslot";
	case KC_DROP_CAPABILITY: return "drop_capability";
	case KC_VCPU_IN_RUN: return "vcpu_in_run";
	case KC_READ_BACK: return "read_back";
	case KC_GUEST_EXIT: return "guest_exit";
	case KC_RUN_FIELD: return "run_field";
	case KC_CREATE_DEVICE: return "create_device";
	}
	return "unknown";
}

#endif
