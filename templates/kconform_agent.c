// SPDX-License-Identifier: GPL-2.0
/*
 * kconform agent: runs call sequences sent over the serial console and
 * answers every step with its observation line, so that `kconform explore`
 * can drive the kernel from the host without a reboot per sequence.
 *
 * Hand-written; built by generator.explore.agent with the spec's own
 * kconform_agent_ops.h (its uAPI, ops table and capability bindings,
 * rendered by generator.render.c) and the runtime every generated test
 * uses (kconform_runtime.h), so a step here is exactly a step there.
 *
 * Protocol (host -> agent, one line each; numbers are decimal):
 *
 *   X <id> <n>      a sequence of n steps follows, one `S` line per step;
 *                   the agent runs them on a fresh VM and tears it down
 *   S <kind> <op> <cap> <flags> <a0> <a1> <a2> <a3> <slot> <ipa> <pages>
 *     <argp> <buf present> <buf length> <buf valid> <fill> <seed> <n> <v0..>
 *                   one struct kc_step row, every size already resolved
 *   F               flush: print "# kconform: flush <count>" and flush
 *   Q               exit 0
 *
 * Agent -> host: the runtime's own observation lines
 *
 *   # kconform: case=<id> step=<n> kind=<kind> ret=<r> errno=<E|-> digest=<hex|->
 *
 * then "# kconform: case=<id> end steps=<k> rc=<0|1|-1>" (rc as kc_step's:
 * 1 the step cannot run here, -1 the harness failed, with why=...).
 * At start: "# kconform: agent spec=... page_size=... hwcap2_mte=..."
 * and the binding lines, then "# kconform: agent ready".  Every step runs
 * under alarm(KC_AGENT_STEP_TIMEOUT): a step that hangs kills the agent
 * with SIGALRM; the initramfs restarts it and the host sees it go.
 */
#include <signal.h>
#include <stdlib.h>
#include <sys/auxv.h>
#include <termios.h>
/* the spec's generated test (uAPI, ops, bindings); its main is not ours */
#define main kc_generated_test_main
#include "kconform_agent_ops.h"
#undef main

#ifndef KC_AGENT_NOPS
#error "build with -DKC_AGENT_NOPS=<entries of kc_ops> (generator.explore.agent)"
#endif
#ifndef KC_AGENT_STEP_TIMEOUT
#define KC_AGENT_STEP_TIMEOUT 10
#endif
#define KC_AGENT_LINE 1024
#define KC_HWCAP2_MTE (1UL << 18)

/* next decimal (or 0x hex) number of *p, moving past it */
static uint64_t kc_num(char **p)
{
	char *end;
	uint64_t v = strtoull(*p, &end, 0);

	*p = end;
	return v;
}

static struct kc_val kc_bytes(uint64_t n)
{
	struct kc_val v = { 0, (int64_t)n, 1 };

	return v;
}

/* one `S ...` line into a step; 0, or -1 when it is malformed */
static int kc_parse_step(char *line, struct kc_step *s)
{
	char *p = line + 1;
	uint64_t n, i;

	if (line[0] != 'S')
		return -1;
	memset(s, 0, sizeof(*s));
	s->kind = (enum kc_step_kind)kc_num(&p);
	s->op = (int)kc_num(&p);
	s->cap = kc_num(&p);
	s->flags = kc_num(&p);
	for (i = 0; i < 4; i++)
		s->args[i] = kc_num(&p);
	s->slot = (uint32_t)kc_num(&p);
	s->guest_ipa = kc_bytes(kc_num(&p));
	s->pages = kc_num(&p);
	s->argp = (enum kc_argp)kc_num(&p);
	s->buf.present = (int)kc_num(&p);
	s->buf.length = kc_bytes(kc_num(&p));
	s->buf.valid = kc_bytes(kc_num(&p));
	s->buf.fill = (enum kc_fill)kc_num(&p);
	s->buf.seed = (unsigned int)kc_num(&p);
	n = kc_num(&p);
	if (n > KC_MAX_FIELDS)
		return -1;
	for (i = 0; i < n; i++)
		s->v[i] = kc_bytes(kc_num(&p));
	if (s->op < 0 || (s->kind == KC_VM_IOCTL && s->op >= KC_AGENT_NOPS))
		return -1;
	return 0;
}

static char kc_line[KC_AGENT_LINE];
static char kc_id[64];
static volatile int kc_current = -1;	/* the step running, for a hang */

/* a step that outlived its alarm: say which, keep what was seen, go */
static void kc_hung(int sig)
{
	(void)sig;
	printf("# kconform: case=%s hang step=%d after %d s\n", kc_id,
	       kc_current, KC_AGENT_STEP_TIMEOUT);
	fflush(stdout);
	_exit(128 + SIGALRM);
}

/* an `X <id> <n>` header: read and run the n steps */
static void kc_sequence(struct kc_env *env, char *line)
{
	struct kc_case c;
	int n, k, rc = 0, got = 0;

	memset(&c, 0, sizeof(c));
	if (sscanf(line, "X %63s %d", kc_id, &n) != 2 || n < 0 || n > KC_MAX_STEPS) {
		printf("# kconform: agent bad header: %s", line);
		return;
	}
	c.id = kc_id;
	c.nsteps = n;
	for (k = 0; k < n; k++) {
		if (!fgets(kc_line, sizeof(kc_line), stdin))
			exit(0);
		if (kc_parse_step(kc_line, &c.steps[k]) == 0)
			got++;
	}
	if (got != n) {
		printf("# kconform: case=%s end steps=0 rc=-1 why=malformed step line\n",
		       c.id);
		return;
	}
	env->case_id = c.id;
	for (k = 0; k < n; k++) {
		kc_current = k;
		alarm(KC_AGENT_STEP_TIMEOUT);
		rc = kc_step(env, kc_ops, &c, k);
		alarm(0);
		if (rc)
			break;
	}
	kc_teardown(env);
	printf("# kconform: case=%s end steps=%d rc=%d", c.id, k, rc);
	if (rc)
		printf(" why=%s", env->why[0] ? env->why : strerror(errno));
	printf("\n");
}

int main(void)
{
	static char out[1 << 16];
	struct kc_env env = { .vm_fd = -1, .guest_fd = -1 };
	long count = 0;
	size_t i;

	setvbuf(stdout, out, _IOFBF, sizeof(out));
	signal(SIGALRM, kc_hung);
	tcflush(0, TCIFLUSH);		/* what a killed agent left unread */
	env.page_size = sysconf(_SC_PAGESIZE);
	env.kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	printf("# kconform: agent spec=%s page_size=%ld hwcap2_mte=%d kvm=%s "
	       "step_timeout=%d\n", KC_AGENT_SPEC, env.page_size,
	       (getauxval(AT_HWCAP2) & KC_HWCAP2_MTE) != 0,
	       env.kvm_fd < 0 ? strerror(errno) : "ok", KC_AGENT_STEP_TIMEOUT);
	printf("# kconform: page_size=%ld\n", env.page_size);
	for (i = 0; i < sizeof(kc_bindings) / sizeof(kc_bindings[0]); i++)
		printf("# kconform: binding name=%s number=%llu how=%s\n",
		       kc_bindings[i].name,
		       (unsigned long long)kc_bindings[i].number,
		       kc_bindings[i].how);
	printf("# kconform: agent ready\n");
	fflush(stdout);
	while (fgets(kc_line, sizeof(kc_line), stdin)) {
		switch (kc_line[0]) {
		case 'X':
			if (env.kvm_fd < 0) {
				printf("# kconform: agent no /dev/kvm\n");
				break;
			}
			kc_sequence(&env, kc_line);
			count++;
			break;
		case 'F':
			printf("# kconform: flush %ld\n", count);
			fflush(stdout);
			break;
		case 'Q':
			fflush(stdout);
			return 0;
		default:
			break;		/* blank or noise: ignored */
		}
	}
	return 0;
}
