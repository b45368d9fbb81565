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
 * Protocol (host -> agent, one line each; numbers are hexadecimal, and
 * the trailing zeros of an `S` line may be left out):
 *
 *   X <id> <n>      a sequence of n steps follows, one `S` line per step
 *                   (at most KC_AGENT_BATCH sequences before an F)
 *   S <kind> <op> <cap> <flags> <a0> <a1> <a2> <a3> <slot> <ipa> <pages>
 *     <argp> <buf present> <buf length> <buf valid> <fill> <seed> <n> <v0..>
 *                   one struct kc_step row, every size already resolved
 *   F               run the sequences sent since the last F, each on a
 *                   fresh VM torn down after it, in up to KC_AGENT_LANES
 *                   processes at once; print their lines in the order
 *                   sent, then "# kconform: flush <count>"
 *   L <n>           run later batches in n lanes (1..KC_AGENT_LANES;
 *                   the agent starts with one per online CPU)
 *   Q               exit 0
 *
 * Agent -> host: per step, the runtime's observation (kc_step), printed
 * short (KC_PRINT_OBS): "=<ret> <errno name|-> <digest hex|->"; the host
 * reads it as the long line of a generated test,
 *
 *   # kconform: case=<id> step=<n> kind=<kind> ret=<r> errno=<E|-> digest=<hex|->
 *
 * after "# kconform: case=<id> begin" and followed by
 * "# kconform: case=<id> end steps=<k> rc=<0|1|-1> us=<guest time>" (rc
 * as kc_step's: 1 the step cannot run here, -1 the harness failed, with
 * why=...; us: the sequence's steps and teardown, in the guest's clock).
 * At start: "# kconform: agent spec=... page_size=... hwcap2_mte=..."
 * and the binding lines, then "# kconform: agent ready".  Every step runs
 * under alarm(KC_AGENT_STEP_TIMEOUT): a step that hangs kills the agent
 * with SIGALRM; the initramfs restarts it and the host sees it go.
 */
#include <signal.h>
#include <stdlib.h>
#include <sys/auxv.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include "kconform_types.h"

/* one step's observation, short: "=<ret> <errno|-> <digest|->"; the host
 * knows which sequence and step it belongs to (they run in order) and
 * reads it as the runtime's long line (generator.runner.agent) */
static void kc_agent_obs(const struct kc_case *c, int n, const struct kc_step *s,
			 long ret, int err, int has_digest, uint64_t digest)
{
	(void)c;
	(void)n;
	(void)s;
	printf("=%ld %s ", ret, err ? kc_errno_name(err) : "-");
	if (has_digest)
		printf("%016llx\n", (unsigned long long)digest);
	else
		printf("-\n");
}
#define KC_PRINT_OBS kc_agent_obs

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
#define KC_AGENT_BATCH 64		/* sequences per F */
#define KC_AGENT_SLOT 2048		/* bytes of output per sequence */
#ifndef KC_AGENT_LANES
#define KC_AGENT_LANES 2		/* sequences run at once, at most */
#endif
#define KC_HWCAP2_MTE (1UL << 18)

/* next hexadecimal number of *p (0 past the end), moving past it */
static uint64_t kc_num(char **p)
{
	char *end;
	uint64_t v = strtoull(*p, &end, 16);

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
static const char *kc_running = "-";	/* the sequence running, for a hang */
static volatile int kc_current = -1;	/* ... and its step */

/* a step that outlived its alarm: say which, keep what was seen, go */
static void kc_hung(int sig)
{
	(void)sig;
	printf("# kconform: case=%s hang step=%d after %d s\n", kc_running,
	       kc_current, KC_AGENT_STEP_TIMEOUT);
	fflush(stdout);
	_exit(128 + SIGALRM);
}

/* the sequences of one batch (X ... up to F), run when the F comes */
struct kc_job {
	char id[64];
	int ok;				/* every S line parsed */
	struct kc_case c;
};
static struct kc_job kc_jobs[KC_AGENT_BATCH];
static int kc_njobs;

/* an `X <id> <n>` header: read its n steps into the batch */
static void kc_read_sequence(char *line)
{
	struct kc_job *j;
	int n, k, got = 0;

	if (kc_njobs == KC_AGENT_BATCH) {
		printf("# kconform: agent batch full (%d sequences)\n", KC_AGENT_BATCH);
		return;
	}
	j = &kc_jobs[kc_njobs];
	memset(j, 0, sizeof(*j));
	if (sscanf(line, "X %63s %d", j->id, &n) != 2 || n < 0 || n > KC_MAX_STEPS) {
		printf("# kconform: agent bad header: %s", line);
		return;
	}
	j->c.id = j->id;
	j->c.nsteps = n;
	for (k = 0; k < n; k++) {
		if (!fgets(kc_line, sizeof(kc_line), stdin))
			exit(0);
		if (kc_parse_step(kc_line, &j->c.steps[k]) == 0)
			got++;
	}
	j->ok = got == n;
	kc_njobs++;
}

/* run one sequence on a fresh VM, tear it down, say how it ended */
static void kc_run_job(struct kc_env *env, struct kc_job *j)
{
	struct timespec t0, t1;
	int k, rc = 0;

	if (!j->ok) {
		printf("# kconform: case=%s end steps=0 rc=-1 why=malformed step line\n",
		       j->id);
		return;
	}
	env->case_id = kc_running = j->id;
	printf("# kconform: case=%s begin\n", j->id);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (k = 0; k < j->c.nsteps; k++) {
		kc_current = k;
		alarm(KC_AGENT_STEP_TIMEOUT);
		rc = kc_step(env, kc_ops, &j->c, k);
		alarm(0);
		if (rc)
			break;
	}
	kc_teardown(env);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("# kconform: case=%s end steps=%d rc=%d us=%ld", j->id, k, rc,
	       (long)((t1.tv_sec - t0.tv_sec) * 1000000L +
		      (t1.tv_nsec - t0.tv_nsec) / 1000));
	if (rc)
		printf(" why=%s", env->why[0] ? env->why : strerror(errno));
	printf("\n");
}

/*
 * Run the batch in `lanes` processes at once (one per online CPU: the
 * guest's vCPUs are separate host threads).  Lane l runs sequences l,
 * l + lanes, ... writing each one's lines into its own slot of a shared
 * mapping; the agent then prints the slots in order, so the host reads
 * the batch exactly as one lane would print it.  A lane whose step hung
 * leaves that sequence's lines and hang line, and nothing for the lane's
 * later sequences: the host sends those again.
 */
static void kc_run_batch(struct kc_env *env, int lanes, char *slots)
{
	pid_t pids[KC_AGENT_LANES];
	int i, l;

	if (lanes > kc_njobs)
		lanes = kc_njobs;
	if (lanes <= 1 || !slots) {
		for (i = 0; i < kc_njobs; i++)
			kc_run_job(env, &kc_jobs[i]);
		kc_njobs = 0;
		return;
	}
	memset(slots, 0, (size_t)kc_njobs * KC_AGENT_SLOT);
	fflush(stdout);
	for (l = 0; l < lanes; l++) {
		pids[l] = fork();
		if (pids[l] == 0) {
			for (i = l; i < kc_njobs; i += lanes) {
				FILE *f = fmemopen(slots + (size_t)i * KC_AGENT_SLOT,
						   KC_AGENT_SLOT - 1, "w");

				if (!f)
					_exit(1);
				stdout = f;
				kc_run_job(env, &kc_jobs[i]);
				fclose(f);
			}
			_exit(0);
		}
	}
	for (l = 0; l < lanes; l++)
		if (pids[l] > 0)
			waitpid(pids[l], NULL, 0);
	for (i = 0; i < kc_njobs; i++)
		fputs(slots + (size_t)i * KC_AGENT_SLOT, stdout);
	kc_njobs = 0;
}

int main(void)
{
	static char out[1 << 16];
	struct kc_env env = { .vm_fd = -1, .guest_fd = -1 };
	long count = 0, cpus = sysconf(_SC_NPROCESSORS_ONLN);
	int lanes = cpus > KC_AGENT_LANES ? KC_AGENT_LANES : cpus < 1 ? 1 : (int)cpus;
	char *slots;
	size_t i;

	setvbuf(stdout, out, _IOFBF, sizeof(out));
	signal(SIGALRM, kc_hung);
	tcflush(0, TCIFLUSH);		/* what a killed agent left unread */
	env.page_size = sysconf(_SC_PAGESIZE);
	env.kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	slots = mmap(NULL, (size_t)KC_AGENT_BATCH * KC_AGENT_SLOT,
		     PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (slots == MAP_FAILED) {
		slots = NULL;
		lanes = 1;
	}
	printf("# kconform: agent spec=%s page_size=%ld hwcap2_mte=%d kvm=%s "
	       "step_timeout=%d lanes=%d\n", KC_AGENT_SPEC, env.page_size,
	       (getauxval(AT_HWCAP2) & KC_HWCAP2_MTE) != 0,
	       env.kvm_fd < 0 ? strerror(errno) : "ok", KC_AGENT_STEP_TIMEOUT,
	       lanes);
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
			kc_read_sequence(kc_line);
			count++;
			break;
		case 'F':
			kc_run_batch(&env, lanes, slots);
			printf("# kconform: flush %ld\n", count);
			fflush(stdout);
			break;
		case 'L':		/* L <n>: run batches in n lanes */
			lanes = atoi(kc_line + 1);
			lanes = lanes < 1 || !slots ? 1 : lanes > KC_AGENT_LANES ?
				KC_AGENT_LANES : lanes;
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
