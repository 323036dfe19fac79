import { sectionIds, type Figure, type Results, type SectionResult } from './results.js';

function formatValue(unit: Figure['unit'], value: number | undefined): string {
  if (value === undefined || !Number.isFinite(value)) return '–';
  switch (unit) {
    case 'ms':
      return `${value.toFixed(value < 10 ? 2 : 1)} ms`;
    case 's':
      return `${value.toFixed(1)} s`;
    case 'MB':
      return `${value.toFixed(0)} MB`;
    case 'count':
      return String(Math.round(value));
    case 'events/s':
    case 'payloads/s':
    case 'requests/s':
      return `${Math.round(value).toLocaleString('en-US')} ${unit}`;
    default: {
      // A new unit must choose its precision here rather than inherit the rates' format.
      const unknownUnit: never = unit;
      throw new Error(`no format for unit ${String(unknownUnit)}`);
    }
  }
}

function formatRatio(figure: Figure): string {
  if (figure.ratio === undefined || !Number.isFinite(figure.ratio)) return '';
  return figure.ratioStyle === 'percent' ? `${(figure.ratio * 100).toFixed(1)} %` : `${figure.ratio.toFixed(2)}×`;
}

function formatMet(figure: Figure): string {
  if (figure.met === undefined) return '';
  return figure.met ? 'met' : 'MISSED';
}

export interface Row {
  section: string;
  metric: string;
  value: string;
  baseline: string;
  ratio: string;
  target: string;
  met: string;
}

export function rows(results: Results): Row[] {
  const out: Row[] = [];
  for (const id of sectionIds) {
    const section = results.sections[id];
    if (!section) continue;
    for (const figure of section.figures) {
      out.push({
        section: section.title,
        metric: figure.metric,
        value: formatValue(figure.unit, figure.value),
        baseline: figure.baseline === undefined ? '' : formatValue(figure.unit, figure.baseline),
        ratio: formatRatio(figure),
        target: figure.target ?? '',
        met: formatMet(figure),
      });
    }
  }
  return out;
}

const headers: Row = { section: 'section', metric: 'metric', value: 'Correx', baseline: 'baseline', ratio: 'ratio', target: 'target', met: 'met' };
const columns = Object.keys(headers) as (keyof Row)[];

/** An aligned plain-text table for the terminal. */
export function consoleTable(results: Results): string {
  const all = [headers, ...rows(results)];
  const widths = columns.map((c) => Math.max(...all.map((r) => r[c].length)));
  const line = (r: Row) =>
    columns
      .map((c, i) => r[c].padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return [line(headers), widths.map((w) => '-'.repeat(w)).join('  '), ...all.slice(1).map(line)].join('\n');
}

/** The targets, one line each: met, or missed with the measured figure. */
export function targetLines(results: Results): string[] {
  const out: string[] = [];
  for (const id of sectionIds) {
    const section = results.sections[id];
    for (const figure of section?.figures ?? []) {
      if (figure.met === undefined) continue;
      const measured =
        figure.ratio !== undefined && figure.ratioStyle
          ? `${formatValue(figure.unit, figure.value)} = ${formatRatio(figure)} of baseline ${formatValue(figure.unit, figure.baseline)}`
          : `${formatValue(figure.unit, figure.value)}${figure.baseline !== undefined ? ` (against ${formatValue(figure.unit, figure.baseline)})` : ''}`;
      out.push(`${figure.met ? 'MET   ' : 'MISSED'} ${section!.title}: ${figure.metric}: target ${figure.target}; measured ${measured}`);
    }
  }
  return out;
}

const cell = (text: string) => text.replaceAll('|', '\\|');

function markdownTable(results: Results): string {
  const body = rows(results).map((r) => `| ${columns.map((c) => cell(c === 'met' && r.met === 'MISSED' ? '**MISSED**' : r[c])).join(' | ')} |`);
  return [`| ${columns.map((c) => headers[c]).join(' | ')} |`, `|${columns.map(() => '---').join('|')}|`, ...body].join('\n');
}

function sectionMethod(section: SectionResult): string {
  const p = section.parameters;
  switch (section.id) {
    case 'trigger':
      return [
        `For each of ${p.incidents} incidents (after ${p.warmup} unrecorded warm-up rounds), one after another: \`POST /v1/incidents\` (${p.severity}) as \`jonas-berg\`, who then acknowledges it (becoming incident commander) and proposes a \`shutdown\` with \`breakGlass: true\`, which the runbook lets the commander apply at once. The clock starts when the trigger's 202 is read and stops when the webhook control endpoint receives the apply for that correction (its first byte handled, \`performance.now()\` in the benchmark process, the same clock as the HTTP calls). So the figure includes two more HTTP round trips (acknowledge, propose) and the time a person would take between them is zero. A second figure starts when the break-glass proposal is sent.`,
        "Baseline, alternating with the incidents in the same run: a bare workflow on the same Temporal server (its own task queue and worker process) that calls one activity doing nothing but `POST` to the same endpoint; timed from `client.workflow.start()` returning (the analogue of the 202) to the endpoint receiving it. Ratio = Correx ÷ baseline at the same percentile; the target is p99 ≤ 3× baseline p99. What was cut: the trigger is one Update-with-Start that the incident answers once it is on record (it used to be signal-with-start, a query, and polling PostgreSQL for the row), and the incident reads its runbook's rules and records its opening in one activity (patched 'open-in-one-step'). The acknowledgement no longer waits for the escalation it stops to have started, for the pages to be stopped, or for the regulator clocks to hear of the commander, nor for its own record's activity task and the workflow task that sees it done: the incident answers in the workflow task that accepts it, with the record it scheduled, and the API writes that record (the row and `incident.acknowledged`, once whoever comes first) before it answers, so a read right after the answer shows it (`test/http/acknowledge.test.ts`). The internal list hears of each milestone through one activity, not one per person (patched 'internal-notices-together'), and a timeline append inside the incident's lock is two statements, not four. A break-glass apply is sent by the incident in the workflow task that accepts the proposal, beside starting the correction's workflow, which records the proposal, reads the apply back and, if that one attempt failed, applies with its own retries, failure records and pages: neither the server starting a child workflow nor that child's first workflow task stands between the proposal and the enforcer. What was tried and withdrawn: the incident recording its steps as local activities, which made the acknowledgement one workflow task. With SDK 1.24.0 a query answered after a local activity finished, but before the workflow saw its result, makes sdk-core complete the workflow task with the activity's record and ask for another; replay hands the result over one task early, and the incident's history no longer replays (a patch marker, or an Update's completion against a signal, out of place: TMPRL1100). The fault suite found it (its `replay` check now replays every history of a run), and `test/workflows/split-task-replay.test.ts` makes it happen on purpose; see docs/faults.md, finding 6. Incidents record with activity tasks (patched 'record-with-activities'). An acknowledgement answered before anything wrote its record was tried too: it broke read-your-writes (the list filtered by state, and the timeline, read right after the answer, did not show it yet), which the API's tests hold it to; the API writing the record itself keeps it.",
      ].join('\n\n');
    case 'approval':
      return `For each of ${p.incidents} incidents: trigger, acknowledge, propose a \`rate_limit\` (${p.severity}) as the commander, then \`sofia-marquez\` (safety-engineering-manager, the decision authority) approves through \`POST /v1/corrections/:id/decision\`. The clock starts when that call returns (and, second figure, when it is sent) and stops at the control endpoint's receipt of the apply. The decision answers once the vote is recorded, while the workflow already moves on to apply: its first attempt runs as a local activity in the workflow task that sees the quorum met (an activity task with retries takes over if it fails), and a correction waiting for a decision records its proposal as a local activity in its first workflow task, so the decision sent the moment the proposal is answered does not queue behind a workflow task that sees the record done. Baseline: the same bare workflow, measured alternately in this section; the target is on the figure from the click (approve sent → receipt against start() sent → receipt): p99 ≤ 1.5× baseline.`;
    case 'ingestion':
      return [
        `A closed-loop load generator in the benchmark process (${p.concurrency} keep-alive connections, each sending the next payload when the previous one is answered) posts Alertmanager webhook payloads (version 4, one firing alert each) for ${p.seconds} s, after ${p.warmupSeconds} s of warm-up. Every tenth payload is a new group (its own \`group\` label, fingerprint and \`startsAt\`); the other nine repeat a payload already sent, as Alertmanager does each \`repeat_interval\`. Throughput counts 202 answers per second. The runbook's jailbreak trigger is changed to open on one alert and group by \`group\`, so each distinct group must become exactly one incident: the count is read from PostgreSQL once the monitor has caught up (and watched 5 s longer), or after at most ${p.waitSeconds} s. The 202 means the signal is stored in PostgreSQL (the outbox); the API then hands it to the system's monitor workflow, which handles its queue in order, so how long it takes to open the last group's incident after the load stops is reported too, and for each group the time from its first alert being sent to its incident opened and to its first page sent (the target: p99 ≤ 10 s). This section runs last, on the worker of the scale section (with its open incidents).`,
        "Baseline: the same generator and payloads against a bare Fastify 5 route in a process of its own, which parses the JSON body and answers 202. Correx runs as `correx api` and `correx worker` processes with the per-token rate limits raised out of the way; every accepted alert is authenticated, validated and stored in PostgreSQL before the 202 (token lookups and signal writes of requests that arrive together each go in one statement), then handed to the system's monitor workflow; a repeat no threshold counts is only counted on its stored row. A second baseline is the same bare route storing each alert with Correx's batched signal writer: the floor of “stored before 202” on this machine. Diagnostic, once the monitor has caught up: the same generator for the same time sending repeats only, so no incident is opened: what the API's own per-alert work allows.",
      ].join('\n\n');
    case 'export':
      return [
        `${p.events} chained timeline events of one incident (about 300 bytes of data each) are inserted directly, plus a ${p.smallEvents}-event incident. Each round runs, each in a fresh process: \`jsonExport\` and \`csvExport\` from \`services/export/stream.ts\` drained into a counting stream (time from the first query to the last byte, signing included), and \`psql -c "COPY (SELECT incident_id, seq, occurred_at, kind, actor, data, prev_hash, hash FROM timeline_events WHERE incident_id = … ORDER BY seq) TO STDOUT WITH (FORMAT csv)"\` into a pipe, whose wall clock minus a \`psql -c 'select 1'\` run (start-up and connection) is the baseline. Medians of ${p.rounds} round${p.rounds === 1 ? '' : 's'}; events per second = events ÷ time.`,
        `Peak memory is the export process's maximum resident set (\`maxRSS\`), including Node.js and tsx. "Flat" means that with the heap capped at 96 MB (\`--max-old-space-size=96\`, as \`test/compliance/export.test.ts\` checks it) the ${p.events}-event JSON export peaks less than 20 MB above the ${p.smallEvents}-event one: memory that grew with the events would show there. The uncapped peaks, what a process with Node's default heap reaches, are listed too.`,
      ].join('\n\n');
    case 'cli-startup':
      return `Wall time of \`node bin/correx.js --help\` from spawn to exit (output discarded), against \`node -e ''\`: Node.js starting and stopping with nothing to load. ${p.runs} runs of each, alternating so that both see the same machine, after ${p.warmup} unrecorded rounds (file cache warm); ratio = Correx's median ÷ the baseline's median, and the target is ≤ 3×. The CLI runs the JavaScript compiled into \`dist/\` (\`npm run build\`: esbuild, file by file); its entry builds the whole command tree from the definitions alone (commander and the help texts), and each command imports what it runs (zod, the API client, the database drivers, the Temporal client) only when it runs. Before that (tsx compiling the sources at every start, and every command module imported up front) it took about 1.5 s, some 20× \`node -e ''\`. This section runs first, before the benchmark starts any other process, and alone with \`npm run bench -- --only cli-startup\` (seconds; no database or Temporal needed).`;
    case 'gateways':
      return [
        `A real Envoy (the tests' build from \`scripts/setup.sh --postgres\`, started by \`test/support/gateways.ts\` with one worker thread) in front of the tests' mock OpenAI-compatible model (\`bench/model-upstream.ts\`, a Node.js process of its own), its HTTP ext_authz filter asking \`correx api\` (\`/v1/gateways/envoy/${p.system}/*\`, the gateway's token in \`x-correx-gateway-key\`) before every request. The baseline is the same Envoy (same listener, filters and route, same model) without the ext_authz filter, running beside it. \`${p.system}\` is the bench system enforced as gateways enforce it, through the built-in policy adapter (the other sections time the webhook adapter's control endpoint). A closed-loop load generator in the benchmark process (${p.concurrency} keep-alive connections, each sending the next \`POST /v1/chat/completions\` when the previous one is answered; the requests carry \`x-correx-user\`, one of ${p.users} in turn, and \`x-correx-tier\`) runs ${p.warmupSeconds} s of warm-up through each Envoy, then ${p.seconds} s without ext_authz and ${p.seconds} s with it, no correction in force, in ${p.slices} slices each, alternately (without, with, with, without, …) so that both see the same machine. Throughput counts 200 answers; the added latency is the difference between the two runs' percentiles, so under a closed loop it includes the queueing that the lower throughput causes. What one check adds without queueing is measured next: ${p.singleSeconds} s through each Envoy with one connection.`,
        `The decision endpoint alone: the same generator for ${p.decideSeconds} s against \`GET /livez\` of the same API process (the bare baseline: routing and serialization, no authentication) and ${p.decideSeconds} s against \`POST /v1/decide\` (the gateway's bearer token; a user and a tier each), no correction in force. For comparison, issue #22 recorded 506–619 decisions/s (p99 59–75 ms) before the policy was held in memory, against 13,600–15,100/s for \`/livez\` on that day's machine.`,
        `Approval to first refusal: ${p.rounds} rounds (after 2 unrecorded), one after another: an incident on \`${p.system}\` is triggered (SEV2) and acknowledged by \`jonas-berg\`, who proposes a \`user_restriction\` blocklisting a user id of that round; a caller sends a request for that user through the ext_authz Envoy every 10 ms; once it has been let through 3 times, \`sofia-marquez\` (a decision authority for user restrictions) approves with \`POST /v1/corrections/:id/decision\`. The clock starts when the approval is sent and stops when the caller receives its first 403 (checked to name the correction). The target is absolute, p99 ≤ 1.5 s; for scale, the approval section's bare baseline (a workflow start to its one activity's receipt) is about 50–150 ms.`,
        `Last, as a diagnostic: a rate limit on every tier that nobody reaches (100000 requests a minute per user) is put in force, and the ${p.concurrency}-connection load runs ${p.limitedSeconds} s more with ext_authz: each request is then counted in PostgreSQL, shared by all API instances. (It comes last because lifting it would first need the incident's restoration criteria; the user restrictions of the rounds above are in force too, for other users.) CPU is per process from \`/proc\` (user + system time over the load's wall time); "other work on the machine" is the machine's busy time (\`/proc/stat\`) less the processes named, and PostgreSQL's figure covers every database.`,
      ].join('\n\n');
    case 'scale':
      return `The Correx worker process is replaced by a fresh one (same task queue), warmed with 3 incidents, and its resident memory (VmRSS from \`/proc/<pid>/status\`) is read idle. Then ${p.incidents} SEV3 incidents are opened through the API (${p.openConcurrency} at a time) and left unacknowledged, so each keeps an escalation workflow with a pending timer; once the worker has settled (no new pages or timeline events for 3 s) its memory is read again, and ${p.samples} break-glass incidents are measured as in the first section, alternating with the bare baseline. In this benchmark's runbook the escalation \`ackTimeout\`s are 2 h, so no timer fires during the run.`;
  }
}

/** What bounds the latency sections' targets: the trigger's always (its margin is inside its spread), the approval's when missed (each followed by a blank line). */
function latencyBounds(results: Results): string {
  const missed = (id: 'trigger' | 'approval') => results.sections[id]?.figures.some((f) => f.met === false) === true;
  const out: string[] = [];
  // Met, the trigger target rests on a p99 of 200 samples: what bounds it stays said, with whether the run's own
  // resampled interval is under the target too.
  const triggerTarget = results.sections.trigger?.figures.find((f) => f.target !== undefined);
  const interval = triggerTarget?.interval;
  const spread = interval ? ` (${interval.low.toFixed(2)}×–${interval.high.toFixed(2)}× at p99, 90 %)` : ' (its notes)';
  if (triggerTarget?.met === true)
    out.push(
      interval?.met
        ? `**Trigger to enforced** is met in the run above (${triggerTarget.ratio?.toFixed(2)}×), and so is all of that run's own resampled interval${spread}. It was missed on 2026-12-03 (3.39–3.58×) on a slower machine, before the escalation ran inside the incident's workflow; how it came under the target, and what bounds it:`
        : `**Trigger to enforced** is met in the run above (${triggerTarget.ratio?.toFixed(2)}×), by a margin inside that run's own resampled interval${spread}, and was missed on 2026-12-03 on a more loaded machine; what bounds it:`,
    );
  if (triggerTarget)
    out.push(
      "**Trigger to enforced.** Where the time goes (2026-12-03, a probe that reads each incident's history beside the HTTP calls; p50 / p90 of 97 incidents run back to back, as here): the acknowledgement reaches the server in 13 / 46 ms (authentication, the incident's row read, the Update sent), waits 4 / 32 ms for a worker to take its workflow task, and that task takes 34 / 53 ms, of which the incident's handler is a few milliseconds and the rest the worker's and the server's turn on the 2 CPUs; the API's write of the record and the answer take 26 / 42 ms. The proposal: 26 / 52 ms to the server, 0 / 35 ms waiting, 35 / 66 ms for its workflow task, 3 / 12 ms until the apply's activity starts and 14 / 21 ms from there to the enforcer. Sent 1.5 s after the 202, the acknowledgement is below the bare baseline (its diagnostic figure above); sent as the 202 arrives, it shares the machine with the opening's own work (the escalation's start and first page, the internal list's notice, each with its workflow tasks and timeline records) and with the previous incident's correction finishing (its customer notices, fallbacks and pages). The machine is saturated while the section runs: per incident the Temporal dev server spends about 0.38 s of CPU and the worker about 0.32 s (from /proc over 100 incidents), for rounds about 0.45 s apart, so each step on the path queues behind the rest of the work, and the p99 of 200 samples (their third-slowest) is where those queues line up. Cut on 2026-12-03: the acknowledgement's own activity task and second workflow task (the API writes the record the incident answers with, and the incident confirms it with its next record instead of writing it beside the proposal), the internal list's four activities per milestone (one now), and two of a timeline append's four statements; p99 from 4.37× (p50 280 ms) to 3.3–3.9× in three runs that day (p50 185–206 ms), the figure above the latest. Cut later that day: the patch markers. Each patch a new run passed recorded a marker and an SDK upsert of TemporalChangeVersion (14 of each per break-glass incident); a run now takes one generation patch per workflow (workflows/patches.ts), and an incident with its correction and escalation leaves 170 history events instead of 194. The probe moved from p50 203 / p90 291 ms to between p50 141 / p90 232 ms and p50 198 / p90 298 ms in runs minutes apart, and the section above measured 3.43×: on this machine (a 2-CPU virtual machine, whose speed varies between runs by as much) that cut is within the noise. The figure itself is noisy: the same code, four runs of 150 incidents each minutes apart (two before and two after the cuts below, alternating), gave p99 ratios of 3.07× and 3.89× before, 3.64× and 4.12× after, with p50 ratios of 3.20× and 3.17× before, 3.10× and 3.30× after; the section's notes give the run's own resampled interval. Cut on 2026-12-03 (evening), each cheaper but none with an effect separable from that spread: mail built one message at a time with the event loop let through between (a CPU profile showed the opening's four notices built in one 30 ms stretch of the worker's main thread while the incident's next workflow task waited), a milestone's timeline events appended in two statements instead of two per person (the opening's notices: 14 statements to 8), a page's row written and read back in one upsert (17 statements to 12), and the incident's children started with their search attributes instead of upserting them in their first workflow task (two events and two visibility writes fewer on the Temporal server around the acknowledgement and the proposal). Tried the same evening, alternating with the default, no effect separable from the spread: the dev server with one partition per task queue instead of four (p50 ratios 2.50×, 3.20×, 3.54× against 3.25×, 3.37×, 3.13×; p99 2.49×, 3.28×, 3.82× against 3.16×, 2.94×, 2.50×, three runs of 150 incidents each), and `GOGC=400` for it. The Temporal dev server's own request latencies in a probe run say where its share goes (its /metrics, 50 incidents): a signal between workflows took 111 ms on average to be delivered, an activity's completion 15 ms and a workflow task's start 11 ms, on a server that answers these in 1–2 ms when idle, and it spent about as much CPU as the worker (25 s against 20 s over 40 s of rounds). What bounds it, measured on one incident with the machine otherwise idle (2026-12-03, event times from its history): the path is already about 190 ms from the 202 to the enforcer with nothing else running, against a bare baseline of 40–60 ms, because it is serial: the acknowledgement's workflow task waits behind the one that sees the escalation started, which takes 44 ms instead of a few because the worker's main thread is running the opening's activities meanwhile (the internal list's notices: drafted, four mails composed and written, recorded; the escalation's first page); then the API's write of the record and the proposal's round trip; the proposal's workflow task takes 29 ms for the same reason. Workflow tasks and activities share the worker's main thread (the SDK runs workflow code in a thread of its own, but every activation passes through the main thread); the worker's CPU profile over 80 incidents puts mail composition at about 20 ms per incident and the PostgreSQL driver and query building at about as much again, the rest spread thin. Tried and measured worse: the activities in a worker process of their own (one for workflows, one for activities), which loses eager activity dispatch: the apply's activity then waited p50 52 ms for a poller instead of 4. Tried as an experiment, not kept: the notices and pages on a task queue of their own served by another worker process (they need no eager dispatch; the apply and the records kept it), so the incident's workflow tasks never wait behind them: the probe's p50 fell from 198–202 ms to 175–176 ms (two runs each, alternating), its p90 did not move (283–317 ms against 301–317 ms), and every deployment would need that second poller, so the tail the target is about is not there. What would cut further, in order: fewer PostgreSQL round trips per incident (about 330 statements, a third of them the timeline's lock, read and insert per event, each a wake-up of a PostgreSQL backend on the same 2 CPUs: the worker's profile shows 4.3 s of 67 in the socket write of a query, which is the worker waiting to be scheduled again); fewer workflow tasks per incident (13 for the incident, 12 for its correction, 3 for its escalation). Tried and withdrawn: local activities for the incident's records (docs/faults.md, finding 6) and answering an acknowledgement before anything wrote its record (read-your-writes). On 2026-12-04 the same code measured 2.39× (p99 173.6 ms against 72.5 ms, `--only trigger`) and then 2.91× (249.4 ms against 85.7 ms, `--only trigger,approval`, the figures above) on a machine of the same description whose bare baseline took p50 33–34 ms instead of 61 ms: faster, and with the machine less loaded, the queues on the path line up less often. Met in both runs, and by a margin inside the run's own resampled interval (2.31×–4.86× at p99): the target holds on a quiet 2-CPU machine and not with certainty on a loaded one. Measured the same day with the probe (`npm run bench:probe`, 180 incidents back to back, p50 / p90 / p99 of 202 → receipt; the unchanged code gave 92–97 / 127–134 / 156–178 ms in three runs): two workflow threads in the worker, worse (101 / 164 / 242); no internal-list notices at all, no change (97 / 136 / 191); the escalation started by the opening's activity instead of as a child (one workflow task of the incident fewer), no change (96 / 127 / 161); the acknowledgement's record written under the incident's lock while the incident decides and committed with its answer, no change (the acknowledgement's p50 59 and 52 ms against 55 and 61); the trigger answered only once the escalation has started, 55 / 83 / 164, but the 202 came 60 ms later and trigger sent → receipt grew, so the work had only moved before the answer: not kept. The one cut that showed: the first level's pages sent by the incident itself with no escalation workflow (an experiment that drops the later levels), 89 / 107 / 146. The escalation's own workflow (its first task, the acknowledgement's signal and its end, on the worker's one workflow thread beside the incident's) is what the acknowledgement and the proposal queue behind: running the escalation inside the incident's workflow was the next cut. Made the same evening (escalation-in-incident: the same levels, repeats, on-call lookups and hand-off briefings, run by the incident and stopped in the acknowledgement's own handler; incidents opened before keep their escalation workflow), the probe measured 72 / 96 / 115 ms against 81 / 109 / 139 ms for the code before, alternating, and the CPU per incident fell from 173 to 147 ms for the Temporal dev server and from 140 to 122 ms for the worker. Then the section measured 2.11× (p99 139.9 ms against 66.4 ms, resampled interval 1.70×–2.45×) and, with the machine slower (bare baseline p50 54.5 ms, p99 129.1 ms, near 2026-12-03's), 1.96× (253.5 ms against 129.1 ms, interval 1.77×–2.42×, p50 2.30×), and a third time 2.65× (176.0 ms against 66.4 ms, interval 1.91×–2.95×): met in every run since, each with its whole interval under the target, on a quiet machine and on a loaded one, though the third shows the margin at the tail is a few tenths, not a multiple. In that third run the approval section's p99 came out at 1.43× (interval 0.68×–2.36×, one slow sample of 100); run again alone just after, 0.65× (0.50×–0.81×). Its p99 now rests on 200 incidents like the trigger's (`--approval-incidents`, default 100 before): 0.53× (0.48×–0.67×), the figure above. What bounds it now is what bounded it before the cut, smaller: the acknowledgement and the proposal each an Update through the server and a workflow task on a worker whose one thread also runs the opening's notices, pages and the previous incident's correction.",
    );
  if (missed('approval'))
    out.push(
      "**Approval to enforced.** Between the click and the enforcer there is the HTTP call (authentication, two PostgreSQL reads to find the correction's workflow), the Update's delivery and one workflow task, which now calls the enforcer itself (a local activity): no activity task and no second workflow task are left on the clock, and the p50 is at the baseline's (a workflow start, a workflow task and an activity task). The target is missed at p99, the second-slowest of 100 samples, which on 2026-12-02 was 2.7× before these changes and, with them, 0.94× (met) on a quiet machine (load average 3–4), but 1.67× at load average 11 and 3.1× in a run that started at load average 13 (other test suites and benchmarks on the same 2 CPUs): the slow samples are decisions that meet a CPU busy with something else, or a workflow task of their correction still in hand (a decision page's completion). What would cut it further is the API's own share (one query for the correction and its incident instead of two) and fewer workflow tasks around the decision (decision pages sent without a workflow task each), and measuring on a machine with nothing else running.",
    );
  return out.map((paragraph) => `${paragraph}\n\n`).join('');
}

/** What bounds the gateways section's missed targets, when it missed one (followed by a blank line). */
function gatewayBounds(results: Results): string {
  if (!results.sections.gateways?.figures.some((f) => f.met === false)) return '';
  return `**Gateways (Envoy ext_authz).** The check itself is cheap: one request at a time it adds about 0.25 ms at p50, Correx's API answers it in about 0.09–0.13 ms of CPU from memory, and PostgreSQL sees 0.014–0.024 transactions per request (the policy poll every 100 ms and the instance's reports), none on a request's path. What a closed loop at saturation measures is CPU: through the bare Envoy a request costs about 0.28–0.35 ms of CPU across the benchmark's processes (Envoy, the load generator and the mock model, about a third each), with ext_authz 0.44–0.58 ms, because Envoy's own share goes up by half to nearly double (each request becomes a second HTTP exchange, with Correx) and the API's is added. On 2 CPUs those costs alone allow 55–65 % of the bare rate, and the throughput target is met narrowly, or missed when other work takes the CPUs (47–69 % in today's full-size runs, with other work on the machine taking 0.4–1 of the 2 cores; 60 % in a quieter \`--quick\` run). The added p99 is where that shows: every request through ext_authz passes through four processes instead of three (the load generator, Envoy, Correx and the model, with Envoy woken three times instead of twice), and with the CPUs about 98 % busy (see the notes) each hand-off can wait for a CPU; today's runs measured an added p99 of 9.8–50 ms, falling as the other work fell, and 3.9 ms in the quieter \`--quick\` run. So the 5 ms target is missed on this shared 2-CPU machine by queueing for the CPUs, not by the decision; the one-request figure is what a check adds when nothing waits for a CPU, which this machine could not show under load (measuring it with Envoy and Correx on cores of their own was not possible here). Not pursued: a gRPC ext_authz service (no HTTP/1 parsing on either side) or decisions cached in the gateway. With a rate limit in force every request is also counted in PostgreSQL before it is answered (batched, about 0.25 statements per request), which costs a further share of the rate (the diagnostic figure).

`;
}

/** docs/benchmarks.md, regenerated from the results by `npm run bench`. */
export function markdown(results: Results): string {
  const m = results.machine;
  const sections = sectionIds.map((id) => results.sections[id]).filter((s): s is SectionResult => s !== undefined);
  const targets = targetLines(results);
  return `# Benchmarks

<!-- Generated by bench/run.ts (\`npm run bench\`) from bench/results.json; edits here are overwritten. -->

\`npm run bench\` measures how fast Correx gets a correction enforced, what asking Correx before every model request costs a gateway, how many alerts it ingests, how fast it exports, what open incidents cost a worker, and how fast the CLI starts, each against a baseline measured in the same run on the same machine. It is not part of \`npm test\`. It needs what the tests need (\`scripts/setup.sh --postgres\`: PostgreSQL and the Temporal CLI) and starts everything else itself: a fresh database \`correx_bench_<random>\` (dropped at the end), a Temporal dev server (the Temporal CLI's \`start-dev\`, SQLite in memory, as the tests use it), \`correx worker\`, \`correx api\`, the baselines, and a webhook control endpoint.

Latest run: ${results.generatedAt} (\`${results.command}\`, ${(results.runtimeSeconds / 60).toFixed(1)} min).${(results.updates ?? [])
    .map((u) => ` Re-measured since: ${u.sections.join(', ')} (\`${u.command}\`, ${u.generatedAt}).`)
    .join('')}

## Figures

${markdownTable(results)}

Ratios are Correx ÷ baseline: for latencies how many times the baseline's, for throughputs what share of it.

## Targets

${targets.length ? targets.map((t) => `- ${t.replace(/^(MET|MISSED)\s+/, (_, w: string) => (w === 'MET' ? '**met**: ' : '**missed**: '))}`).join('\n') : '- none measured in this run'}

${sections
  .map(
    (s) => `## ${s.title}

${sectionMethod(s)}

Measured ${s.measuredAt}${s.quick ? ' (quick mode: small sizes, not comparable)' : ''}, ${s.seconds.toFixed(0)} s${s.loadAverage ? `; load average ${s.loadAverage.map((l) => l.toFixed(2)).join(', ')} when it started` : ''}.

${s.notes.map((n) => `- ${n}`).join('\n')}`,
  )
  .join('\n\n')}

## What bounds the targets

${latencyBounds(results)}${gatewayBounds(results)}**Alert ingestion.** Before each 202 Correx authenticates the token, validates the payload, finds the system's runbook and stores the alert in PostgreSQL; the bare route only parses JSON. Token lookups and signal writes of requests that arrive together now go in one statement each (group commit), a repeat no threshold counts is only counted on its stored row, and the hand-over to the monitor workflow follows the 202 (the stored row is the outbox) instead of preceding it: that took the mixed rate from 231 to 900–1,300 payloads/s (3.1 % to 8–14 % of the bare route, which itself varies between runs with the machine), and repeats only from 538 to 1,200–2,200/s. The storing baseline says what bounds the rate: the bare route plus the very same batched writer, with no authentication, runbook or Temporal, reaches only 42–49 % of the bare route on this machine, so storing before 202 alone costs half the bare rate on 2 CPUs shared with PostgreSQL; Correx's API adds a second batched query (the token), validation and the runbook lookup, and shares the CPUs with the worker opening the storm's incidents. **New groups' incidents**: with the API this much faster, every tenth payload makes 90–130 new groups a second, and Correx opened incidents (workflow, escalation, timeline events, first page) at about 3–4 a second, so the backlog grows through the storm and the first-page delay is its length, minutes, not the 10 s target. While the backlog was worked through, the CPUs were about three quarters busy (Temporal's dev server 0.77 cores, the worker 0.61, PostgreSQL 0.07; see the notes): what is left bounding it is that one monitor workflow per system opens every new group in order, each a workflow task and a child start on the dev server. Taking the monitor out of opening (the API starting an incident by its deterministic workflow id for a trigger that opens at its first alert, counting in PostgreSQL for the others) is the next step and was not done. The monitor now continues as new after 1000 incident starts, carrying the signals it has not handled: before, a storm stalled it at Temporal's limit of 2000 pending children per run (the first run of this section on 2026-12-02 did).

## Machine

- ${m.cpus} CPUs (${m.cpuModel}), ${m.memoryGb.toFixed(0)} GB memory, ${m.platform}
- Node.js ${m.node}; ${m.postgres}; Temporal CLI ${m.temporalCli} (\`temporal server start-dev\`, SQLite in memory)
- Load average when the full run started: ${m.loadAverageAtStart.map((l) => l.toFixed(2)).join(', ')}. Everything (PostgreSQL, Temporal, worker, API, load generator) shares these CPUs, and other work on the machine shows up in the figures; compare ratios rather than absolute numbers, and rerun on a quiet machine before drawing conclusions.

## Running it

\`\`\`sh
npm run bench                               # every section, full sizes; rewrites bench/results.json and this page
npm run bench -- --quick                    # small sizes for development; writes bench/results.quick.json only
npm run bench -- --only trigger,export      # some sections; merged into bench/results.json and this page
npm run bench -- --only cli-startup         # CLI start-up alone, in seconds (needs only the build)
npm run bench -- --render                   # only regenerate this page from bench/results.json
\`\`\`

Sizes (defaults): \`--incidents <n>\` (trigger section, 200), \`--approval-incidents <n>\` (200), \`--ingest-seconds <s>\` (30), \`--ingest-wait <s>\` (how long to wait for the monitor after the load, 180), \`--concurrency <n>\` (ingestion connections, 32), \`--export-events <n>\` (100000), \`--scale-incidents <n>\` (1000), \`--scale-samples <n>\` (50), \`--cli-runs <n>\` (runs of each command in the CLI start-up section, 20), \`--gateway-seconds <s>\` (each closed-loop load through Envoy, 20), \`--gateway-concurrency <n>\` (its connections, 16), \`--decide-seconds <s>\` (each load on \`/livez\` and \`/v1/decide\`, 10), \`--gateway-rounds <n>\` (approval to first refusal, 20). The sources are in \`bench/\`: \`run.ts\` (orchestration and flags), \`stack.ts\` (processes), \`latency.ts\`, \`gateways.ts\`, \`ingestion.ts\`, \`export.ts\`, \`cli-startup.ts\` (the sections), \`baseline-workflow.ts\` / \`baseline-worker.ts\`, \`bare-server.ts\`, \`model-upstream.ts\`, \`export-child.ts\`, \`report.ts\` (this page); the control endpoint is the tests' own, \`test/support/control-endpoint.ts\`, and so are Envoy and the mock model, \`test/support/gateways.ts\`.
`;
}
