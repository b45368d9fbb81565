// SPDX-License-Identifier: GPL-2.0
/*
 * btf_probe: print the layout of named structs as the running kernel's BTF
 * describes them, as KTAP diagnostic lines, so a test can compare the booted
 * kernel's uAPI with a spec.
 *
 *   btf_probe [-f FILE] NAME...
 *
 * Built with -DBTF_PROBE_STRUCTS='"a b"', it checks those names when given
 * none, so a runner that passes no arguments can run it.
 * FILE defaults to /sys/kernel/btf/vmlinux (raw BTF: header, type section,
 * string section; native byte order).  For each NAME (a struct or union):
 *
 *   # btf-struct: NAME kind=struct size=48 vlen=5
 *   # btf-member: NAME PATH bit_offset=128 bit_size=0 size=8
 *   # btf-anon: NAME PATH kind=union bit_offset=128 size=8
 *   # btf-missing: NAME
 *
 * PATH is the member as C names it: members of anonymous structs and unions
 * appear directly (after a btf-anon line for the container, PATH "" shown as
 * "-"), members of a named member of untagged type as "outer.inner".
 * Offsets are in bits from the start of NAME.
 *
 * Around them it prints a KTAP document: one "ok N btf_NAME" per NAME
 * ("not ok" when NAME is not in the BTF).
 *
 * Exit: 0 every NAME found, 2 some missing, 1 BTF unreadable or malformed,
 * 4 (kselftest skip) when the kernel has no /sys/kernel/btf/vmlinux.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BTF_MAGIC 0xeB9F
#define DEFAULT_BTF "/sys/kernel/btf/vmlinux"
#define KSFT_SKIP 4
#define MAX_DEPTH 32

enum {
	KIND_INT = 1, KIND_PTR, KIND_ARRAY, KIND_STRUCT, KIND_UNION, KIND_ENUM,
	KIND_FWD, KIND_TYPEDEF, KIND_VOLATILE, KIND_CONST, KIND_RESTRICT,
	KIND_FUNC, KIND_FUNC_PROTO, KIND_VAR, KIND_DATASEC, KIND_FLOAT,
	KIND_DECL_TAG, KIND_TYPE_TAG, KIND_ENUM64,
};

struct btf_header {
	uint16_t magic;
	uint8_t version;
	uint8_t flags;
	uint32_t hdr_len;
	uint32_t type_off;
	uint32_t type_len;
	uint32_t str_off;
	uint32_t str_len;
};

struct btf_type {
	uint32_t name_off;
	uint32_t info;		/* vlen 0-15, kind 24-28, kind_flag 31 */
	uint32_t size_or_type;
};

struct btf_member {
	uint32_t name_off;
	uint32_t type;
	uint32_t offset;	/* kind_flag: bitfield size << 24 | bit offset */
};

struct btf {
	unsigned char *data;
	size_t len;
	const char *strs;
	uint32_t str_len;
	const struct btf_type **types;	/* by id; types[0] is void */
	uint32_t ntypes;
};

static unsigned int kind_of(const struct btf_type *t) { return (t->info >> 24) & 0x1f; }
static unsigned int vlen_of(const struct btf_type *t) { return t->info & 0xffff; }
static int kflag_of(const struct btf_type *t) { return t->info >> 31; }

static const char *name_at(const struct btf *b, uint32_t off)
{
	return off < b->str_len ? b->strs + off : "";
}

static unsigned char *read_all(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	size_t cap = 1 << 20, n = 0;
	unsigned char *buf;

	if (!f)
		return NULL;
	buf = malloc(cap);
	while (buf) {
		size_t got = fread(buf + n, 1, cap - n, f);

		n += got;
		if (got == 0)
			break;
		if (n == cap) {
			unsigned char *bigger = realloc(buf, cap * 2);

			if (!bigger) {
				free(buf);
				buf = NULL;
				break;
			}
			buf = bigger;
			cap *= 2;
		}
	}
	fclose(f);
	*len = n;
	return buf;
}

/* Bytes that follow a btf_type of this kind, or -1 for an unknown kind. */
static long extra_size(const struct btf_type *t)
{
	unsigned int vlen = vlen_of(t);

	switch (kind_of(t)) {
	case KIND_INT: case KIND_VAR: case KIND_DECL_TAG:
		return 4;
	case KIND_PTR: case KIND_FWD: case KIND_TYPEDEF: case KIND_VOLATILE:
	case KIND_CONST: case KIND_RESTRICT: case KIND_FUNC: case KIND_FLOAT:
	case KIND_TYPE_TAG:
		return 0;
	case KIND_ARRAY:
		return 12;
	case KIND_STRUCT: case KIND_UNION:
		return 12L * vlen;
	case KIND_ENUM: case KIND_FUNC_PROTO:
		return 8L * vlen;
	case KIND_DATASEC: case KIND_ENUM64:
		return 12L * vlen;
	}
	return -1;
}

static int load(struct btf *b, const char *path)
{
	const struct btf_header *h;
	size_t off, end, cap = 1024;

	b->data = read_all(path, &b->len);
	if (!b->data) {
		printf("# btf-error: cannot read %s: %s\n", path, strerror(errno));
		return -1;
	}
	h = (const struct btf_header *)b->data;
	if (b->len < sizeof(*h) || h->magic != BTF_MAGIC) {
		printf("# btf-error: %s is not raw BTF (magic %#x, expected %#x)\n",
		       path, b->len >= 2 ? h->magic : 0, BTF_MAGIC);
		return -1;
	}
	if ((size_t)h->hdr_len + h->type_off + h->type_len > b->len ||
	    (size_t)h->hdr_len + h->str_off + h->str_len > b->len) {
		printf("# btf-error: %s: sections run past the end (%zu bytes)\n",
		       path, b->len);
		return -1;
	}
	b->strs = (const char *)b->data + h->hdr_len + h->str_off;
	b->str_len = h->str_len;
	b->types = malloc(cap * sizeof(*b->types));
	if (!b->types)
		return -1;
	b->types[0] = NULL;
	b->ntypes = 1;
	off = h->hdr_len + h->type_off;
	end = off + h->type_len;
	while (off + sizeof(struct btf_type) <= end) {
		const struct btf_type *t = (const void *)(b->data + off);
		long extra = extra_size(t);

		if (extra < 0) {
			printf("# btf-error: type %u has unknown kind %u\n",
			       b->ntypes, kind_of(t));
			return -1;
		}
		if (b->ntypes == cap) {
			const struct btf_type **more;

			cap *= 2;
			more = realloc(b->types, cap * sizeof(*b->types));
			if (!more)
				return -1;
			b->types = more;
		}
		b->types[b->ntypes++] = t;
		off += sizeof(*t) + extra;
	}
	if (off != end) {
		printf("# btf-error: type section ends inside type %u\n", b->ntypes);
		return -1;
	}
	return 0;
}

static const struct btf_type *type_by_id(const struct btf *b, uint32_t id)
{
	return id && id < b->ntypes ? b->types[id] : NULL;
}

static const struct btf_type *strip(const struct btf *b, const struct btf_type *t)
{
	int hops = 0;

	while (t && hops++ < 64) {
		unsigned int k = kind_of(t);

		if (k != KIND_TYPEDEF && k != KIND_VOLATILE && k != KIND_CONST &&
		    k != KIND_RESTRICT && k != KIND_TYPE_TAG)
			break;
		t = type_by_id(b, t->size_or_type);
	}
	return t;
}

static unsigned long long type_size(const struct btf *b, const struct btf_type *t)
{
	const uint32_t *arr;

	t = strip(b, t);
	if (!t)
		return 0;
	switch (kind_of(t)) {
	case KIND_INT: case KIND_STRUCT: case KIND_UNION: case KIND_ENUM:
	case KIND_ENUM64: case KIND_FLOAT: case KIND_DATASEC:
		return t->size_or_type;
	case KIND_PTR:
		return sizeof(void *);
	case KIND_ARRAY:
		arr = (const uint32_t *)(t + 1);	/* type, index_type, nelems */
		return (unsigned long long)arr[2] * type_size(b, type_by_id(b, arr[0]));
	}
	return 0;
}

static void members(const struct btf *b, const char *top, const struct btf_type *agg,
		    unsigned long long base, const char *prefix, int depth)
{
	const struct btf_member *m = (const void *)(agg + 1);
	unsigned int i;

	for (i = 0; i < vlen_of(agg); i++, m++) {
		const struct btf_type *mt = type_by_id(b, m->type);
		const struct btf_type *bare = strip(b, mt);
		unsigned long long off = base + (kflag_of(agg) ? (m->offset & 0xffffff) : m->offset);
		unsigned int bits = kflag_of(agg) ? m->offset >> 24 : 0;
		const char *name = name_at(b, m->name_off);
		int untagged = bare && (kind_of(bare) == KIND_STRUCT || kind_of(bare) == KIND_UNION) &&
			       !*name_at(b, bare->name_off);
		char path[512];

		if (!bits && bare && kind_of(bare) == KIND_INT) {
			unsigned int nr_bits = *(const uint32_t *)(bare + 1) & 0xff;

			if (nr_bits && nr_bits != bare->size_or_type * 8)
				bits = nr_bits;	/* bitfield without kind_flag */
		}
		snprintf(path, sizeof(path), "%s%s", prefix, name);
		if (!*name) {
			printf("# btf-anon: %s %s kind=%s bit_offset=%llu size=%llu\n", top,
			       *prefix ? prefix : "-",
			       bare && kind_of(bare) == KIND_UNION ? "union" : "struct",
			       off, type_size(b, mt));
		} else {
			printf("# btf-member: %s %s bit_offset=%llu bit_size=%u size=%llu\n",
			       top, path, off, bits, type_size(b, mt));
		}
		if (untagged && depth < MAX_DEPTH) {
			char sub[520];

			snprintf(sub, sizeof(sub), "%s%s", path, *name ? "." : "");
			members(b, top, bare, off, sub, depth + 1);
		}
	}
}

static int show(const struct btf *b, const char *want)
{
	uint32_t id;

	for (id = 1; id < b->ntypes; id++) {
		const struct btf_type *t = b->types[id];
		unsigned int k = kind_of(t);

		if ((k != KIND_STRUCT && k != KIND_UNION) || strcmp(name_at(b, t->name_off), want))
			continue;
		printf("# btf-struct: %s kind=%s size=%u vlen=%u\n", want,
		       k == KIND_UNION ? "union" : "struct", t->size_or_type, vlen_of(t));
		members(b, want, t, 0, "", 0);
		return 0;
	}
	printf("# btf-missing: %s\n", want);
	return -1;
}

int main(int argc, char **argv)
{
	const char *path = DEFAULT_BTF;
	struct btf b = { 0 };
	char *names[256];
	int i = 1, n = 0, k, missing = 0;
	FILE *probe;

	if (argc > 2 && !strcmp(argv[1], "-f")) {
		path = argv[2];
		i = 3;
	}
	for (; i < argc && n < 256; i++)
		names[n++] = argv[i];
#ifdef BTF_PROBE_STRUCTS
	if (!n) {
		static char builtin[] = BTF_PROBE_STRUCTS;
		char *tok = strtok(builtin, " ");

		for (; tok && n < 256; tok = strtok(NULL, " "))
			names[n++] = tok;
	}
#endif
	if (!n) {
		fprintf(stderr, "usage: %s [-f FILE] STRUCT...\n", argv[0]);
		return 1;
	}
	printf("TAP version 13\n");
	if (!strcmp(path, DEFAULT_BTF)) {
		probe = fopen(path, "rb");
		if (!probe) {
			printf("1..0 # SKIP %s: %s (kernel built without CONFIG_DEBUG_INFO_BTF?)\n",
			       path, strerror(errno));
			printf("# btf-skip: %s: %s\n", path, strerror(errno));
			return KSFT_SKIP;
		}
		fclose(probe);
	}
	printf("1..%d\n", n);
	if (load(&b, path)) {
		for (k = 0; k < n; k++)
			printf("not ok %d btf_%s # BTF unreadable\n", k + 1, names[k]);
		return 1;
	}
	printf("# btf: %s types=%u\n", path, b.ntypes - 1);
	for (k = 0; k < n; k++) {
		int found = show(&b, names[k]) == 0;

		printf("%sok %d btf_%s\n", found ? "" : "not ", k + 1, names[k]);
		missing += !found;
	}
	return missing ? 2 : 0;
}
