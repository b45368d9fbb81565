/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Layout cases for the ABI engine: every aggregate here is laid out by
 * generator.abi.layout and by the four cross compilers, and the two must
 * agree member by member.  Each block says which rule it exercises.
 */
typedef unsigned char __u8;
typedef unsigned short __u16;
typedef unsigned int __u32;
typedef unsigned long long __u64;
typedef signed long long __s64;

/* The seed's v10 struct: a pointer that shares a union with a __u64. */
struct mte_v10 {
	__u64 guest_ipa;
	__u64 length;
	union {
		void *addr;
		__u64 padding;
	};
	__u64 flags;
	__u64 reserved[2];
};

/* The same without the union: 48 bytes on arm, 44 on i386. */
struct mte_bare {
	__u64 guest_ipa;
	__u64 length;
	void *addr;
	__u64 flags;
	__u64 reserved[2];
};

/* i386 aligns __u64 to 4 inside a struct; __aligned_u64 fixes that. */
struct u32_u64 { __u32 x; __u64 y; };
struct u32_aligned_u64 { __u32 x; __u64 __attribute__((aligned(8))) y; };

/* packed: on the closing brace, after the keyword, spelled __packed__. */
struct packed_tail { char c; int i; long long l; } __attribute__((packed));
struct __attribute__((packed)) packed_head { char c; short s; };
struct packed_underscores { char c; __u64 v; } __attribute__((__packed__));
struct packed_member { char c; int i __attribute__((packed)); short s; };
struct packed_with_aligned_member {
	char c;
	int i __attribute__((aligned(4)));
} __attribute__((packed));

/* aligned: on a member, a type, bare, with an expression, as _Alignas. */
struct aligned_member { char c; int i __attribute__((aligned(16))); };
struct aligned_type { char c; } __attribute__((aligned(8)));
struct aligned_bare { char c; } __attribute__((aligned));
struct aligned_expr { char c; } __attribute__((__aligned__(2 * 4)));
struct alignas_member { char c; _Alignas(8) char d; _Alignas(short) char e; };
struct holds_aligned_type { char c; struct aligned_type t; char d; };

/* aligned on a typedef sets the alignment, up or down. */
typedef long long ll_align4 __attribute__((aligned(4)));
typedef int int_align16 __attribute__((aligned(16)));
struct typedef_down { char c; ll_align4 v; };
struct typedef_up { char c; int_align16 v; };
struct packed_typedef_up { char c; int_align16 v; } __attribute__((packed));

/* An attribute after one declarator is that declarator's only; one in the
 * specifiers applies to every declarator. */
struct declarator_attr { char a, b __attribute__((aligned(4))), c; };
struct specifier_attr { char x; __attribute__((aligned(4))) char a, b; };

/* Scalars whose size or alignment differ between ABIs. */
struct scalars { _Bool b; double d; float f; long l; char c; long double ld; };
struct pointers { char c; void *p; int (*fn)(int); const char *s[2]; };

/* Bitfields: spanning, crossing units, unnamed, zero-width, in unions. */
struct bits_basic { unsigned a:3; unsigned b:30; unsigned char c:4; };
struct bits_ll { char c; long long x:40; int y:20; };
struct bits_zero { char a; int :0; char b; };
struct bits_unnamed { char a; int :3; };
struct bits_short { unsigned short a:9, b:9, c:9; };
struct bits_packed { char a; int b:12; } __attribute__((packed));
union bits_union { int a:3; char b; };
struct bits_u8 {
	__u8 delivery_mode:3;
	__u8 dest_mode:1;
	__u8 reserve:4;
	__u16 dest_id;
};

/* Enums are int unless their values need 64 bits, or they are packed. */
enum small_enum { SMALL_A, SMALL_B };
enum big_enum { BIG_A = 0x100000000ULL };
enum neg_enum { NEG_A = -1, NEG_B = 0x7fffffff };
enum __attribute__((packed)) packed_enum { PACKED_A = 200 };
enum { NREGS = 3, NREGS_TWICE = NREGS * 2 };
struct enums { char c; enum small_enum s; enum big_enum b; enum neg_enum n; };
struct packed_enum_member { char c; enum packed_enum p; short s; };
struct enum_dims { int r[NREGS]; char c[NREGS_TWICE + 1]; };

/* Nesting: anonymous members, named members of untagged types, tags. */
struct nested_anon {
	int a;
	union {
		struct { char x; short y; };
		long long z;
	};
	char tail;
};
struct nested_named { char c; struct { int q; double d; } inner; char t; };
struct nested_tagged { char c; struct inner_tag { short s; char k; } it; };
struct uses_inner_tag { struct inner_tag a, b; };
typedef struct { short s; char c; } typedef_anon;
struct holds_typedef_anon { char c; typedef_anon t[3]; };

/* Arrays, flexible and zero-length arrays, sizeof in a bound. */
struct arrays { char c[3]; short s[2][3]; __u64 u[2]; };
struct flexible { int n; long long items[]; };
struct zero_length { char c; int z[0]; };
struct empty_struct { };
struct holds_empty { char c; struct empty_struct e; int i; };
struct sized_by_sizeof { char pad[64 - sizeof(struct mte_v10)]; __u32 tail; };
struct flex_in_union {
	__u32 n;
	union {
		__u32 words[0];
		__u64 quads[0];
	};
};

#ifdef __SIZEOF_INT128__
/* 128-bit integers exist on the 64-bit ABIs only. */
struct int128s { char c; __int128 x; unsigned __int128 y; __uint128_t z; };
#endif
