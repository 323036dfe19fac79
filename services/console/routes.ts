import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import fastifyCookie from '@fastify/cookie';
import fastifyFormbody from '@fastify/formbody';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { simpleParser } from 'mailparser';
import { z } from 'zod';
import { authenticate } from '../access/repository.js';
import { allows, readers, type Principal, type Role } from '../access/roles.js';
import { InvalidInput } from '../errors.js';
import { ExportSelection } from '../export/schema.js';
import { sendExport, sendReport } from '../export/routes.js';
import type { SigningKey } from '../export/signing.js';
import { NotFound, type CorrexApp, type RouteDependencies } from '../http/app.js';
import { ActionRefused } from '../errors.js';
import { correctionWorkflowId, reviewWorkflowId, temporalUiWorkflowUrl } from '../identity.js';
import { correctionsAwaitingDecision, findCorrection, listCorrections } from '../correction/repository.js';
import { enforcementStatus } from '../correction/policy-versions.js';
import { shownState, votingOpen } from '../correction/rules.js';
import type { IncidentRow } from '../db/schema.js';
import { listIncidents } from '../incident/repository.js';
import { incidentOr404 } from '../incident/routes.js';
import { openIncidentStates, type IncidentState } from '../incident/schema.js';
import { listFallbacks, listNotifications } from '../notification/repository.js';
import { readReport } from '../regulatory/content.js';
import { approveReport, editReport, reportOr404 } from '../regulatory/routes.js';
import { findReport } from '../regulatory/repository.js';
import { incidentAlerts } from '../monitoring/alerts.js';
import { findTask, listIncidentTasks } from '../task/repository.js';
import { countTimelineEvents, newestTimelineEvents, timelineKinds, verifyStoredChain } from '../timeline/repository.js';
import { stylesheet, script } from './assets.js';
import { scheduleConsoleRoutes } from './schedules.js';
import { correctionDecisions, describeDecision, pendingDecisions, RunbookPeople, type PendingDecision } from './decisions.js';
import {
  afterVoteNotice,
  complianceMain,
  decisionsMain,
  incidentListSorts,
  incidentListStates,
  incidentMain,
  incidentsMain,
  isCompliance,
  layout,
  messagePage,
  outboxMain,
  signInPage,
  type Flash,
  type IncidentListFilter,
  type IncidentView,
  type OutboxMail,
  type ReportDraft,
  type Section,
  type Viewer,
} from './pages.js';
import { closeSession, findSession, openSession, randomSecret, sameSecret, type ConsoleSession } from './session.js';

export interface ConsoleOptions {
  /**
   * Local mode: the sign-in link `correx dev` prints (`/console/local-sign-in?key=…`) signs a browser in
   * as the local administrator. The key proves the person can read this machine's console output or
   * data folder; a peer address would not (behind a reverse proxy on the same host, every visitor is local).
   */
  localSignIn?: { key: string; adminToken: () => string | undefined };
  /** Local mode without SMTP: the folder of mails Correx would have sent (shown on the Outbox page). */
  outboxDir?: string;
}

declare module 'fastify' {
  interface FastifyRequest {
    consoleSession?: ConsoleSession;
  }
}

const SESSION_COOKIE = 'correx_session';
/** How many of an incident's newest events its page shows (the exports have them all). */
const TIMELINE_SHOWN = 300;
const SIGN_IN_COOKIE = 'correx_sign_in';
const compliance: readonly Role[] = ['compliance', 'admin'];

const securityHeaders = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'same-origin',
  'cache-control': 'no-store',
};

const loopback = (request: FastifyRequest) => ['127.0.0.1', '::1', '::ffff:127.0.0.1'].includes(request.ip);

/** Where sign-in may send the browser afterwards: console pages only, never another site. */
function safeNext(next: unknown): string {
  return typeof next === 'string' && /^\/console(\/[^/\\]|$|\?)/.test(next) && !next.includes('//') ? next : '/console';
}

const Rationale = z.string().trim().min(1, 'give the rationale').max(2000);
const DecisionForm = z.object({ decision: z.enum(['approve', 'reject'], 'choose approve or reject'), rationale: Rationale });
const IdParams = z.object({ id: z.uuid('is not an id Correx issued') });

function formError(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.join('.') || 'form'}: ${i.message}`).join('; ');
}

/**
 * The web console: server-rendered pages for responders, decision-makers and compliance, on the same
 * origin, roles and workflows as the API. A session cookie (HTTP-only, SameSite=Strict, Secure over
 * HTTPS) stands for the token the person signed in with; every form carries the session's CSRF secret.
 */
export async function consoleRoutes(app: CorrexApp, deps: RouteDependencies & { signingKey: SigningKey; console: ConsoleOptions }): Promise<void> {
  await app.register(async (scope) => {
    // Forms post URL-encoded bodies; the parser is registered here only, so the API keeps accepting JSON alone.
    await scope.register(fastifyFormbody);
    await scope.register(fastifyCookie);

    const cookieOptions = (request: FastifyRequest, cookiePath: string, maxAgeSeconds?: number) => ({
      path: cookiePath,
      httpOnly: true,
      sameSite: 'strict' as const,
      secure: request.protocol === 'https',
      ...(maxAgeSeconds !== undefined ? { maxAge: maxAgeSeconds } : {}),
    });

    const startSession = async (request: FastifyRequest, reply: FastifyReply, principal: Principal) => {
      const { cookie, session } = await openSession(deps.db, principal);
      reply.setCookie(SESSION_COOKIE, cookie, cookieOptions(request, '/console', Math.floor((session.expiresAt.getTime() - Date.now()) / 1000)));
      return session;
    };

    scope.addHook('onSend', async (_request, reply, payload) => {
      for (const [name, value] of Object.entries(securityHeaders)) reply.header(name, value);
      return payload;
    });

    // Who is signed in: every console route that needs a person; the API's bearer check skips these.
    scope.addHook('onRequest', async (request, reply) => {
      const access = request.routeOptions.config.access;
      if (!access || typeof access !== 'object' || !('session' in access)) return;
      const cookie = request.cookies[SESSION_COOKIE];
      const session = cookie ? await findSession(deps.db, cookie) : undefined;
      if (!session) {
        if (cookie) reply.clearCookie(SESSION_COOKIE, { path: '/console' });
        if (request.method === 'GET' && !request.headers['x-correx-live'])
          return reply.redirect(`/console/sign-in?next=${encodeURIComponent(request.url)}`, 303);
        return reply
          .code(401)
          .type('text/html; charset=utf-8')
          .send(messagePage({ title: 'Signed out', message: 'Your session has ended. Sign in again.', back: '/console/sign-in' }));
      }
      request.consoleSession = session;
      request.principal = session.principal;
      if (!allows(access, session.principal)) {
        const viewer = await viewerOf(request);
        return reply
          .code(403)
          .type('text/html; charset=utf-8')
          .send(
            messagePage({
              title: 'Not allowed',
              message: `This needs one of the roles ${access.session.join(', ')}; you have ${session.principal.roles.join(', ')}.`,
              viewer,
              back: '/console',
            }),
          );
      }
    });

    // Every form carries the session's CSRF secret, and cross-site posts are refused outright.
    scope.addHook('preHandler', async (request, reply) => {
      if (request.method !== 'POST') return;
      const origin = request.headers.origin;
      if (origin && origin !== 'null' && URL.parse(origin)?.host !== request.headers.host) {
        return reply
          .code(403)
          .type('text/html; charset=utf-8')
          .send(messagePage({ title: 'Refused', message: 'This form was posted from another site.' }));
      }
      const given = (request.body as Record<string, unknown> | undefined)?._csrf;
      const expected = request.consoleSession?.csrf ?? request.cookies[SIGN_IN_COOKIE];
      if (!expected || !sameSecret(given, expected)) {
        return reply
          .code(403)
          .type('text/html; charset=utf-8')
          .send(
            messagePage({
              title: 'Refused',
              message: 'The form has expired or was not sent by this console. Reload the page and try again.',
              back: '/console',
            }),
          );
      }
    });

    scope.setErrorHandler(async (error, request, reply) => {
      const viewer = request.consoleSession ? await viewerOf(request).catch(() => undefined) : undefined;
      const page = (status: number, title: string, message: string) =>
        reply
          .code(status)
          .type('text/html; charset=utf-8')
          .send(messagePage({ title, message, ...(viewer ? { viewer } : {}), back: '/console' }));
      if (error instanceof NotFound) return page(404, 'Not found', error.message);
      if (error instanceof ActionRefused) return page(409, 'Refused', error.message);
      if (error instanceof InvalidInput) return page(400, 'Invalid request', error.errors.map((f) => `${f.path}: ${f.message}`).join('; '));
      if (error instanceof z.ZodError) return page(400, 'Invalid request', formError(error));
      const status = (error as { statusCode?: number }).statusCode;
      if (status && status >= 400 && status < 500) return page(status, 'Invalid request', (error as Error).message);
      request.log.error({ err: error }, 'console request failed');
      return page(500, 'Something went wrong', 'The error was logged on the server. Try again; nothing you sent was lost unless this page says so.');
    });

    const runbookNames = async () => {
      const set = await deps.runbooks.current();
      const names = new Map<string, string>();
      for (const loaded of set.runbooks.values()) for (const person of loaded.runbook.people) names.set(person.id, person.name);
      const systems = [...set.runbooks.keys()].sort();
      // Each runbook defines its own severities: offer every one some runbook uses, in the runbooks' order.
      const severities = [...new Set(systems.flatMap((system) => set.runbooks.get(system)!.runbook.severities.map((s) => s.id)))];
      // Each runbook lists its severities most severe first: an incident ranks by its place in its own runbook's list.
      const severityOrder = new Map(systems.map((system) => [system, set.runbooks.get(system)!.runbook.severities.map((s) => s.id)]));
      return { names, systems, severities, severityOrder };
    };

    // What waits on the person is asked of their workflows once per request, however many parts of the page show it.
    const pendingOfRequest = new WeakMap<FastifyRequest, Promise<PendingDecision[]>>();
    const allPending = (request: FastifyRequest) => {
      if (!pendingOfRequest.has(request)) pendingOfRequest.set(request, pendingDecisions(deps.db, deps, request.consoleSession!.principal));
      return pendingOfRequest.get(request)!;
    };

    async function viewerOf(request: FastifyRequest): Promise<Viewer> {
      const session = request.consoleSession!;
      const { names } = await runbookNames();
      const pending = await allPending(request);
      return {
        principal: session.principal,
        name: names.get(session.principal.owner) ?? session.principal.owner,
        csrf: session.csrf,
        outbox: Boolean(deps.console.outboxDir),
        pendingCount: pending.length,
      };
    }

    /** A full page, or only its main content when the page's script asks for an update. */
    const render = async (request: FastifyRequest, reply: FastifyReply, page: { title: string; section?: Section; main: string; status?: number }) => {
      reply.code(page.status ?? 200).type('text/html; charset=utf-8');
      if (request.headers['x-correx-live']) return reply.send(page.main);
      return reply.send(
        layout({ title: page.title, viewer: await viewerOf(request), ...(page.section ? { section: page.section } : {}), main: page.main, live: true }),
      );
    };

    const hidden = { hide: true } as const;

    // ---- assets and sign-in ----
    scope.get('/', { config: { access: 'public' }, schema: hidden }, async (_request, reply) => reply.redirect('/console', 302));
    scope.get('/console/assets/console.css', { config: { access: 'public' }, schema: hidden }, async (_request, reply) =>
      reply.type('text/css; charset=utf-8').send(stylesheet),
    );
    scope.get('/console/assets/console.js', { config: { access: 'public' }, schema: hidden }, async (_request, reply) =>
      reply.type('text/javascript; charset=utf-8').send(script),
    );

    const showSignIn = (request: FastifyRequest, reply: FastifyReply, next: string, error?: string, status = 200) => {
      const csrf = randomSecret();
      reply.setCookie(SIGN_IN_COOKIE, csrf, cookieOptions(request, '/console/sign-in', 3600));
      return reply
        .code(status)
        .type('text/html; charset=utf-8')
        .send(signInPage({ csrf, next, ...(error ? { error } : {}), localAdmin: Boolean(deps.console.localSignIn) }));
    };

    scope.get('/console/sign-in', { config: { access: 'public' }, schema: hidden }, async (request, reply) => {
      const next = safeNext((request.query as Record<string, unknown>).next);
      const cookie = request.cookies[SESSION_COOKIE];
      if (cookie && (await findSession(deps.db, cookie))) return reply.redirect(next, 303);
      return showSignIn(request, reply, next);
    });

    scope.post('/console/sign-in', { config: { access: 'public', rateLimit: { max: 20, timeWindow: 60_000 } }, schema: hidden }, async (request, reply) => {
      const form = z.object({ token: z.string().trim().min(1, 'paste your token'), next: z.string().optional() }).safeParse(request.body);
      const next = safeNext((request.body as Record<string, unknown> | undefined)?.next);
      if (!form.success) return showSignIn(request, reply, next, formError(form.error), 400);
      if (request.protocol !== 'https' && !loopback(request)) {
        return showSignIn(
          request,
          reply,
          next,
          'The console signs in over HTTPS only (or from this machine). Put Correx behind TLS and set CORREX_TRUST_PROXY.',
          400,
        );
      }
      const result = await authenticate(deps.db, form.data.token);
      if ('refused' in result) {
        return showSignIn(
          request,
          reply,
          next,
          { unknown: 'That token is not known.', revoked: 'That token was revoked.', expired: 'That token has expired.' }[result.refused],
          401,
        );
      }
      if (!result.principal.roles.some((role) => readers.includes(role))) {
        return showSignIn(request, reply, next, `That token is for machines (${result.principal.roles.join(', ')}); sign in with a personal token.`, 403);
      }
      await startSession(request, reply, result.principal);
      reply.clearCookie(SIGN_IN_COOKIE, { path: '/console/sign-in' });
      return reply.redirect(next, 303);
    });

    scope.get(
      '/console/local-sign-in',
      { config: { access: 'public', rateLimit: { max: 20, timeWindow: 60_000 } }, schema: hidden },
      async (request, reply) => {
        const query = request.query as Record<string, unknown>;
        const next = safeNext(query.next);
        const local = deps.console.localSignIn;
        const adminToken = local && sameSecret(query.key, local.key) ? local.adminToken() : undefined;
        const admin = adminToken ? await authenticate(deps.db, adminToken) : undefined;
        if (!admin || !('principal' in admin)) {
          return showSignIn(
            request,
            reply,
            next,
            local
              ? 'That sign-in link is not valid: use the one `correx dev` printed when it last started (also in its data folder, console-sign-in.url).'
              : 'Sign-in links exist in local mode (correx dev) only; sign in with your token.',
            403,
          );
        }
        await startSession(request, reply, admin.principal);
        return reply.redirect(next, 303);
      },
    );

    scope.post('/console/sign-out', { config: { access: { session: readers } }, schema: hidden }, async (request, reply) => {
      const cookie = request.cookies[SESSION_COOKIE];
      if (cookie) await closeSession(deps.db, cookie);
      reply.clearCookie(SESSION_COOKIE, { path: '/console' });
      return reply.redirect('/console/sign-in', 303);
    });

    // ---- incidents ----
    const listFilter = (severities: string[]) =>
      z.object({
        state: z.enum(incidentListStates, 'is not a state').default('open'),
        severity: z
          .string()
          .refine((s) => s === '' || severities.includes(s), 'is not a severity of any runbook')
          .default(''),
        systemId: z.string().max(64).default(''),
        sort: z.enum(incidentListSorts, 'is not an order: opened or severity').default('opened'),
      });

    const LIST_LIMIT = 200;
    /**
     * The newest incidents the filter selects, or with `sort=severity` the most severe first: each
     * severity rank (first of each runbook's list, then second…) is read in turn, newest first within
     * it, until the list is full; incidents whose system or severity no runbook knows now come last.
     */
    const listed = async (filter: IncidentListFilter, severityOrder: Map<string, string[]>): Promise<IncidentRow[]> => {
      const states = filter.state === 'open' ? [...openIncidentStates] : filter.state === 'all' ? undefined : [filter.state as IncidentState];
      const base = { ...(states ? { states } : {}), ...(filter.systemId ? { systemId: filter.systemId } : {}) };
      if (filter.sort !== 'severity') return listIncidents(deps.db, { limit: LIST_LIMIT, ...base, ...(filter.severity ? { severity: filter.severity } : {}) });
      const out: IncidentRow[] = [];
      const ranks = Math.max(0, ...[...severityOrder.values()].map((order) => order.length));
      for (let rank = 0; rank < ranks && out.length < LIST_LIMIT; rank++) {
        const pairs = [...severityOrder].flatMap(([systemId, order]) =>
          order[rank] && (!filter.systemId || filter.systemId === systemId) && (!filter.severity || filter.severity === order[rank])
            ? [{ systemId, severity: order[rank] }]
            : [],
        );
        const found = (await Promise.all(pairs.map((pair) => listIncidents(deps.db, { ...base, ...pair, limit: LIST_LIMIT - out.length })))).flat();
        found.sort((a, b) => b.opened_at.getTime() - a.opened_at.getTime() || (a.id < b.id ? 1 : -1));
        out.push(...found.slice(0, LIST_LIMIT - out.length));
      }
      if (out.length < LIST_LIMIT) {
        const known = (i: IncidentRow) => severityOrder.get(i.system_id)?.includes(i.severity) === true;
        const rest = await listIncidents(deps.db, { limit: LIST_LIMIT, ...base, ...(filter.severity ? { severity: filter.severity } : {}) });
        out.push(...rest.filter((i) => !known(i)).slice(0, LIST_LIMIT - out.length));
      }
      return out;
    };

    scope.get('/console', { config: { access: { session: readers } }, schema: hidden }, async (request, reply) => {
      const { names, systems, severities, severityOrder } = await runbookNames();
      const filter = listFilter(severities).parse(request.query);
      const [incidents, awaitingRows] = await Promise.all([listed(filter, severityOrder), correctionsAwaitingDecision(deps.db)]);
      const awaiting = new Map<string, number>();
      for (const row of awaitingRows) awaiting.set(row.incident_id, (awaiting.get(row.incident_id) ?? 0) + 1);
      return render(request, reply, {
        title: 'Incidents',
        section: 'incidents',
        main: incidentsMain(incidents, filter, { systems, severities }, names, awaiting),
      });
    });

    /** Report cards show each report's content as it stands: read now, derived again from its incident. */
    const withReports = (pending: PendingDecision[]): Promise<PendingDecision[]> =>
      Promise.all(
        pending.map(async (p) => {
          if (p.kind !== 'report') return p;
          const row = await findReport(deps.db, p.id);
          const report = row
            ? await readReport(deps.db, row).catch((error: unknown) => (app.log.warn({ err: error, report: p.id }, 'report content unreadable'), undefined))
            : undefined;
          return { ...p, report };
        }),
      );

    const incidentView = async (request: FastifyRequest, id: string, flash?: Flash): Promise<IncidentView> => {
      const incident = await incidentOr404(deps.db, id);
      const people = new RunbookPeople(deps.db);
      const names = new Map((await people.people(incident)).map((p) => [p.id, p.name]));
      const live = await deps.incidents
        .state(incident.workflow_id)
        .catch((error: unknown) => ({ unavailable: `live state unavailable: ${(error as Error).message.split('\n')[0]}` }));
      const snapshot = 'incidentId' in live ? live : undefined;
      const kindFilter = z
        .string()
        .max(100)
        .default('')
        .parse((request.query as Record<string, unknown>).kind ?? '');
      const deciding = await correctionDecisions(deps.db, deps, request.principal!, { incidentId: incident.id, people });
      const [pending, corrections, notifications, fallbacks, tasks, alerts, timeline, clocks] = await Promise.all([
        pendingDecisions(deps.db, deps, request.principal!, { incidentId: incident.id, people, decisions: deciding }),
        listCorrections(deps.db, incident.id),
        listNotifications(deps.db, incident.id),
        listFallbacks(deps.db, incident.id),
        listIncidentTasks(deps.db, incident.id),
        incidentAlerts(deps.db, incident.id),
        // The newest events only: a long incident's page stays fast, and the count says how many there are.
        newestTimelineEvents(deps.db, incident.id, { kind: kindFilter, limit: TIMELINE_SHOWN }),
        Promise.all(
          (snapshot?.regulatoryClocks ?? []).map((c) =>
            deps.regulatoryClocks
              .state(c.workflowId)
              .catch((error: unknown) => ({ regimeId: c.regimeId, unavailable: `clock unavailable: ${(error as Error).message.split('\n')[0]}` })),
          ),
        ),
      ]);
      const runbook = await people.runbook(incident);
      // Only for the live system: a drill's corrections never enter the policy.
      const enforcement = incident.drill ? undefined : await enforcementStatus(deps.db, incident.system_id);
      return {
        incident,
        ...(enforcement && (enforcement.version > 0 || enforcement.points.length > 0) ? { enforcement } : {}),
        names,
        consumers: (runbook?.system.consumers ?? []).map((c) => ({ id: c.id, name: c.name, email: c.contact.email })),
        live: snapshot
          ? {
              joinedTriggers: snapshot.joinedTriggers,
              ...(snapshot.awareness ? { awareness: snapshot.awareness } : {}),
              ...(snapshot.escalation ? { escalation: snapshot.escalation } : {}),
            }
          : { joinedTriggers: 0, unavailable: (live as { unavailable: string }).unavailable },
        pending: await withReports(pending),
        othersDeciding: deciding.filter((d) => !('votesAs' in d.you)),
        corrections,
        clocks,
        notifications,
        fallbacks,
        tasks,
        alerts,
        ...(deps.temporalUi ? { temporalUrl: temporalUiWorkflowUrl(deps.temporalUi.url, deps.temporalUi.namespace, incident.workflow_id) } : {}),
        timeline,
        timelineLimit: TIMELINE_SHOWN,
        timelineTotal: await countTimelineEvents(deps.db, incident.id),
        kinds: await timelineKinds(deps.db, incident.id),
        kindFilter,
        // Recomputing the chain reads every event: on page loads, not on every live update, which keeps what the load showed.
        chain: !isCompliance(request.principal!) ? undefined : request.headers['x-correx-live'] ? 'kept' : await verifyStoredChain(deps.db, incident.id),
        chainCheckedAt: new Date(),
        ...(flash ? { flash } : {}),
      };
    };

    /** After a vote: what it did and what happens next, from the correction's workflow as it is now. */
    const afterVote = async (request: FastifyRequest, vote: 'approve' | 'reject', correctionId: unknown): Promise<Flash | undefined> => {
      const id = IdParams.shape.id.safeParse(correctionId);
      if (!id.success) return undefined;
      const row = await findCorrection(deps.db, id.data);
      if (!row) return undefined;
      const incident = await incidentOr404(deps.db, row.incident_id);
      const live = await deps.corrections.state(correctionWorkflowId(incident.workflow_id, row.id)).catch(() => undefined);
      if (!live) return undefined;
      const voting = { rule: live.rule, escalated: live.escalated, proposedBy: live.proposedBy, votes: live.votes };
      const decision = await describeDecision(row, incident, live, new RunbookPeople(deps.db), request.principal!);
      const yourRole = live.votes.find((v) => v.actor === request.principal!.owner)?.role;
      return {
        noticeHtml: afterVoteNotice(
          vote,
          { decision, open: votingOpen(live.state, voting), shownState: shownState(live.state, voting), yourRole },
          request.principal!.owner,
        ),
      };
    };

    const flashFromQuery = async (request: FastifyRequest): Promise<Flash | undefined> => {
      // The notice is outside the parts a live update swaps: not worth asking a workflow for every two seconds.
      if (request.headers['x-correx-live']) return undefined;
      const query = request.query as Record<string, unknown>;
      const done = query.done;
      if ((done === 'approved' || done === 'rejected') && query.correction) {
        const told = await afterVote(request, done === 'approved' ? 'approve' : 'reject', query.correction);
        if (told) return told;
      }
      const notices: Record<string, string> = {
        approved: 'Your approval is recorded on the timeline.',
        rejected: 'Your rejection is recorded on the timeline.',
        acknowledged: 'You acknowledged the incident: paging has stopped, and you are its commander.',
        'report-approved': 'The report is approved and on its way to the regulator.',
        'report-saved': 'Your changes to the report are saved and on the timeline. It is sent only when you approve it.',
        'report-unchanged': 'Nothing in the report changed: there was nothing to save.',
        'task-done': 'The task is marked done.',
        'signed-off': 'The review is signed off; the incident closes.',
      };
      return typeof done === 'string' && notices[done] ? { notice: notices[done] } : undefined;
    };

    scope.get('/console/incidents/:id', { config: { access: { session: readers } }, schema: hidden }, async (request, reply) => {
      const { id } = IdParams.parse(request.params);
      const view = await incidentView(request, id, await flashFromQuery(request));
      return render(request, reply, { title: view.incident.title, section: 'incidents', main: incidentMain(view, await viewerOf(request)) });
    });

    // ---- decisions ----
    scope.get('/console/decisions', { config: { access: { session: readers } }, schema: hidden }, async (request, reply) => {
      const pending = await withReports(await allPending(request));
      const { names } = await runbookNames();
      return render(request, reply, {
        title: 'Decisions',
        section: 'decisions',
        main: decisionsMain(pending, await viewerOf(request), names, await flashFromQuery(request)),
      });
    });

    /** After a decision: back to the page it was made on, or that page again with the refusal and what was typed. */
    const returnTo = (request: FastifyRequest, incidentId: string) => {
      const from = (request.body as Record<string, unknown> | undefined)?.from;
      return from === 'inbox' ? '/console/decisions' : `/console/incidents/${incidentId}`;
    };

    scope.post('/console/corrections/:id/decision', { config: { access: { session: ['approver', 'admin'] } }, schema: hidden }, async (request, reply) => {
      const { id } = IdParams.parse(request.params);
      const correction = await findCorrection(deps.db, id);
      if (!correction) throw new NotFound(`no correction ${id}`);
      const incident = await incidentOr404(deps.db, correction.incident_id);
      const form = DecisionForm.safeParse(request.body);
      const refuse = async (status: number, error: string) => {
        const view = await incidentView(request, incident.id, {
          error,
          draft: { id, rationale: String((request.body as Record<string, unknown>)?.rationale ?? '') },
        });
        return render(request, reply, { title: incident.title, section: 'incidents', main: incidentMain(view, await viewerOf(request)), status });
      };
      if (!form.success) return refuse(400, formError(form.error));
      try {
        await deps.corrections.decide(correctionWorkflowId(incident.workflow_id, id), {
          ...form.data,
          actor: request.principal!.owner,
          at: new Date().toISOString(),
        });
      } catch (error) {
        if (error instanceof ActionRefused) return refuse(409, error.message);
        throw error;
      }
      const target = returnTo(request, incident.id);
      return reply.redirect(`${target}?done=${form.data.decision === 'approve' ? 'approved' : 'rejected'}&correction=${id}`, 303);
    });

    // The page a paged person's link opens: acknowledging there is the same Update as the API's.
    scope.post('/console/incidents/:id/acknowledge', { config: { access: { session: ['responder', 'admin'] } }, schema: hidden }, async (request, reply) => {
      const { id } = IdParams.parse(request.params);
      const incident = await incidentOr404(deps.db, id);
      try {
        await deps.incidents.acknowledge(incident.workflow_id, { actor: request.principal!.owner, at: new Date().toISOString() });
      } catch (error) {
        if (!(error instanceof ActionRefused)) throw error;
        const view = await incidentView(request, incident.id, { error: error.message });
        return render(request, reply, { title: incident.title, section: 'incidents', main: incidentMain(view, await viewerOf(request)), status: 409 });
      }
      return reply.redirect(`/console/incidents/${incident.id}?done=acknowledged`, 303);
    });

    /** The report form as posted: each field typed (`field:<name>`, line ends as the API stores them) and the reason for lateness. */
    const reportForm = (id: string, body: unknown): ReportDraft => {
      const form = (body ?? {}) as Record<string, unknown>;
      const text = (value: unknown) => (typeof value === 'string' ? value.replace(/\r\n?/g, '\n') : '');
      const fields = Object.fromEntries(
        Object.entries(form)
          .filter(([name]) => name.startsWith('field:'))
          .map(([name, value]) => [name.slice('field:'.length), text(value)]),
      );
      return { id, fields, lateReason: text(form.lateReason).trim() };
    };
    /** The edits a posted form makes: each field whose text differs from what the report says now (an emptied edit goes back to Correx's value). */
    const formEdits = async (row: NonNullable<Awaited<ReturnType<typeof findReport>>>, typed: ReportDraft): Promise<Record<string, string>> => {
      const report = await readReport(deps.db, row);
      const edits: Record<string, string> = {};
      for (const f of report.fields) {
        const value = typed.fields[f.name];
        if (value === undefined || value.trim() === (f.value ?? '').trim()) continue;
        if (value.trim() === '' && f.source !== 'edited') continue;
        edits[f.name] = value.trim();
      }
      return edits;
    };
    /** The incident page again, with the refusal and the report's form as typed. */
    const refuseReport = async (request: FastifyRequest, reply: FastifyReply, incidentId: string, status: number, error: string, typed: ReportDraft) => {
      const view = await incidentView(request, incidentId, { error, reportDraft: typed });
      const incident = view.incident;
      return render(request, reply, { title: incident.title, section: 'incidents', main: incidentMain(view, await viewerOf(request)), status });
    };
    const reportRefusal = (error: unknown): [number, string] | undefined => {
      if (error instanceof ActionRefused) return [409, error.message];
      if (error instanceof InvalidInput) return [400, error.errors.map((f) => `${f.path.replace(/^form\.edits\./, '')}: ${f.message}`).join('; ')];
      return undefined;
    };

    scope.post('/console/reports/:id/approve', { config: { access: { session: compliance } }, schema: hidden }, async (request, reply) => {
      const { id } = IdParams.parse(request.params);
      const row = await reportOr404(deps.db, id);
      const typed = reportForm(id, request.body);
      const edits = await formEdits(row, typed);
      try {
        await approveReport(
          deps,
          id,
          {
            actor: request.principal!.owner,
            at: new Date().toISOString(),
            ...(Object.keys(edits).length ? { edits } : {}),
            ...(typed.lateReason ? { lateReason: typed.lateReason } : {}),
          },
          'form',
        );
      } catch (error) {
        const refused = reportRefusal(error);
        if (!refused) throw error;
        return refuseReport(request, reply, row.incident_id, refused[0], `The report was not sent: ${refused[1]}.`, typed);
      }
      return reply.redirect(`${returnTo(request, row.incident_id)}?done=report-approved`, 303);
    });

    scope.post('/console/reports/:id/fields', { config: { access: { session: compliance } }, schema: hidden }, async (request, reply) => {
      const { id } = IdParams.parse(request.params);
      const row = await reportOr404(deps.db, id);
      const typed = reportForm(id, request.body);
      const edits = await formEdits(row, typed);
      if (Object.keys(edits).length === 0) return reply.redirect(`${returnTo(request, row.incident_id)}?done=report-unchanged`, 303);
      try {
        await editReport(deps.db, id, { actor: request.principal!.owner, at: new Date().toISOString(), edits }, 'form');
      } catch (error) {
        const refused = reportRefusal(error);
        if (!refused) throw error;
        return refuseReport(request, reply, row.incident_id, refused[0], `Your changes were not saved: ${refused[1]}.`, typed);
      }
      return reply.redirect(`${returnTo(request, row.incident_id)}?done=report-saved`, 303);
    });

    scope.post('/console/tasks/:id/done', { config: { access: { session: readers } }, schema: hidden }, async (request, reply) => {
      const { id } = IdParams.parse(request.params);
      const form = z.object({ note: z.string().trim().max(2000).optional() }).parse(request.body);
      const task = await findTask(deps.db, id);
      if (!task) throw new NotFound(`no task ${id}`);
      const incident = await incidentOr404(deps.db, task.incident_id);
      await deps.reviews.completeTask(reviewWorkflowId(incident.workflow_id, incident.id), {
        actor: request.principal!.owner,
        at: new Date().toISOString(),
        taskId: id,
        ...(form.note ? { note: form.note } : {}),
      });
      return reply.redirect(`${returnTo(request, incident.id)}?done=task-done`, 303);
    });

    scope.post('/console/incidents/:id/review/sign-off', { config: { access: { session: ['approver', 'admin'] } }, schema: hidden }, async (request, reply) => {
      const { id } = IdParams.parse(request.params);
      const incident = await incidentOr404(deps.db, id);
      await deps.reviews.signOff(reviewWorkflowId(incident.workflow_id, incident.id), { actor: request.principal!.owner, at: new Date().toISOString() });
      return reply.redirect(`${returnTo(request, incident.id)}?done=signed-off`, 303);
    });

    // ---- compliance ----
    scope.get('/console/compliance', { config: { access: { session: compliance } }, schema: hidden }, async (request, reply) => {
      const incidents = await listIncidents(deps.db, { limit: 50 });
      const rows = await Promise.all(incidents.map(async (incident) => ({ incident, chain: await verifyStoredChain(deps.db, incident.id) })));
      const { systems } = await runbookNames();
      return render(request, reply, { title: 'Compliance', section: 'compliance', main: complianceMain(rows, systems) });
    });

    scope.get('/console/exports', { config: { access: { session: compliance } }, schema: hidden }, async (request, reply) => {
      // The selection form sends empty fields and bare dates; the export takes neither.
      const raw = Object.fromEntries(Object.entries(request.query as Record<string, string>).filter(([, v]) => v !== ''));
      for (const [field, time] of [
        ['from', 'T00:00:00Z'],
        ['to', 'T23:59:59.999Z'],
      ] as const) {
        if (raw[field] && /^\d{4}-\d{2}-\d{2}$/.test(raw[field])) raw[field] += time;
      }
      const selection = ExportSelection.safeParse(raw);
      if (!selection.success) throw new InvalidInput(selection.error.issues.map((i) => ({ path: i.path.join('.') || 'selection', message: i.message })));
      return sendExport(reply, deps, selection.data, request.principal!.owner);
    });

    scope.get('/console/incidents/:id/report', { config: { access: { session: compliance } }, schema: hidden }, async (request, reply) => {
      const { id } = IdParams.parse(request.params);
      return sendReport(reply, deps, await incidentOr404(deps.db, id), request.principal!.owner);
    });

    // ---- on-call schedules (./schedules.ts) ----
    scheduleConsoleRoutes(scope, deps, { render, viewerOf });

    // ---- outbox (local mode) ----
    scope.get('/console/outbox', { config: { access: { session: readers } }, schema: hidden }, async (request, reply) => {
      const folder = deps.console.outboxDir;
      if (!folder) throw new NotFound('there is no outbox: Correx sends mail through SMTP here');
      const mails = await readOutbox(folder);
      return render(request, reply, { title: 'Outbox', section: 'outbox', main: outboxMain(mails, folder) });
    });
  });
}

/** The newest hundred mails of the outbox (drills' mail included, marked). */
async function readOutbox(folder: string): Promise<OutboxMail[]> {
  const files: { file: string; drill: boolean }[] = [];
  for (const [dir, drill] of [
    [folder, false],
    [path.join(folder, 'drills'), true],
  ] as const) {
    const names = await readdir(dir).catch(() => [] as string[]);
    for (const name of names) if (name.endsWith('.eml')) files.push({ file: path.join(dir, name), drill });
  }
  const dated = await Promise.all(files.map(async (f) => ({ ...f, at: (await stat(f.file)).mtime })));
  dated.sort((a, b) => b.at.getTime() - a.at.getTime());
  return Promise.all(
    dated.slice(0, 100).map(async (f) => {
      const parsed = await simpleParser(await readFile(f.file));
      const to = Array.isArray(parsed.to) ? parsed.to.map((a) => a.text).join(', ') : (parsed.to?.text ?? '');
      return { file: path.basename(f.file), at: parsed.date ?? f.at, to, subject: parsed.subject ?? '(no subject)', text: parsed.text ?? '', drill: f.drill };
    }),
  );
}
