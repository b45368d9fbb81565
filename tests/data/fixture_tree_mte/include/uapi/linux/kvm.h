/* FIXTURE: not the kernel's header */
#define KVMIO 0xAE
#define KVM_CAP_SET_GUEST_DEBUG2 195
#define KVM_CAP_ARM_MTE 205
#define KVM_ARM_MTE_COPY_TAGS	  _IOR(KVMIO,  0xb4, struct kvm_arm_copy_mte_tags)
