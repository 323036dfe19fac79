// Deadlines of every clock of every built-in regime, worked out by hand from the rules
// (../shared/reference/regulatory-clocks.md) and written down as literals: the code is not asked what
// they should be. Then properties over a few thousand seeded random starts per clock.
import { describe, expect, it } from 'vitest';
import { parseClockOffset, type ClockOffset } from '../../services/regulatory/calendar.js';
import { regimeCatalogue, regimesById } from '../../services/regulatory/catalogue.js';
import { clockDeadline } from '../../services/regulatory/deadline.js';
import type { Regime, RegulatoryClock } from '../../services/regulatory/regime.js';
import { prng } from '../support/prng.js';

/** [what it checks, start of the clock, the incident's classes, occurrence, deadline, and for a clock with a `latest` bound the moment that runs from]. */
type Case = [name: string, start: string, classes: string[], occurrence: number, due: string, latestStart?: string];

// Weekdays and DST changes used below, for checking by hand:
// EU summer time 2026-03-29 to 2026-10-25 and 2027-03-28 to 2027-10-31 (changes at 01:00 UTC);
// US daylight time 2027-03-14 to 2027-11-07 (at 02:00 local). 2026-11-26 and 2027-11-25 are
// Thanksgiving; 2027-12-24 and 2027-12-31 are Christmas and New Year's Day 2028 observed (Fridays);
// 2028-02-21 is Presidents Day. 2028 is a leap year.
const cases: Record<string, Record<string, Case[]>> = {
  'eu-ai-act-art73': {
    initial: [
      ['other serious harm to health: 15 days from awareness', '2027-12-10T09:00:00Z', ['serious-harm-to-health'], 1, '2027-12-25T09:00:00.000Z'],
      ['death: 10 days, not 2', '2027-12-10T09:00:00Z', ['death'], 1, '2027-12-20T09:00:00.000Z'],
      ['critical-infrastructure disruption: 2 days', '2027-12-10T09:00:00Z', ['critical-infrastructure'], 1, '2027-12-12T09:00:00.000Z'],
      ['widespread infringement: 2 days, over 29 February 2028', '2028-02-28T15:00:00Z', ['widespread-infringement'], 1, '2028-03-01T15:00:00.000Z'],
      ['death and critical infrastructure: the shortest, 2 days', '2027-06-01T00:00:00Z', ['death', 'critical-infrastructure'], 1, '2027-06-03T00:00:00.000Z'],
      ['death and fundamental rights: 10 days, over the leap day', '2028-02-25T12:00:00Z', ['fundamental-rights', 'death'], 1, '2028-03-06T12:00:00.000Z'],
      [
        '15 × 24 h across the EU spring change: 10:00 CET → 11:00 CEST',
        '2027-03-20T10:00:00+01:00',
        ['property-or-environment'],
        1,
        '2027-04-04T09:00:00.000Z',
      ],
      ['10 × 24 h across the EU autumn change', '2027-10-25T09:00:00Z', ['death'], 1, '2027-11-04T09:00:00.000Z'],
      ['no class with a shorter deadline: 15 days, over the year end', '2027-12-31T23:30:00Z', [], 1, '2028-01-15T23:30:00.000Z'],
    ],
  },
  'eu-ai-act-art26': {
    'provider-notice': [
      ['"immediately", treated as 24 h', '2027-12-02T09:15:00Z', ['serious-harm-to-health'], 1, '2027-12-03T09:15:00.000Z'],
      ['24 h across the EU spring change: 10:00 CET → 11:00 CEST', '2027-03-27T10:00:00+01:00', ['fundamental-rights'], 1, '2027-03-28T09:00:00.000Z'],
      ['24 h across the EU autumn change: 10:00 CEST → 09:00 CET', '2027-10-30T10:00:00+02:00', ['fundamental-rights'], 1, '2027-10-31T08:00:00.000Z'],
      ['onto the leap day', '2028-02-28T20:00:00Z', ['critical-infrastructure'], 1, '2028-02-29T20:00:00.000Z'],
      ['across the year end', '2027-12-31T12:00:00Z', ['property-or-environment'], 1, '2028-01-01T12:00:00.000Z'],
      ['death does not change it: no shorter deadline', '2028-02-29T06:00:00Z', ['death'], 1, '2028-03-01T06:00:00.000Z'],
    ],
  },
  'eu-gpai-code-c9': {
    initial: [
      ['other serious harm: 15 days from awareness', '2026-08-03T08:00:00Z', ['serious-harm-to-health'], 1, '2026-08-18T08:00:00.000Z'],
      ['critical infrastructure: 2 days', '2026-08-03T08:00:00Z', ['critical-infrastructure'], 1, '2026-08-05T08:00:00.000Z'],
      ['cybersecurity breach (weights exfiltrated): 5 days', '2026-08-03T08:00:00Z', ['cybersecurity-breach'], 1, '2026-08-08T08:00:00.000Z'],
      ['death: 10 days', '2026-08-03T08:00:00Z', ['death'], 1, '2026-08-13T08:00:00.000Z'],
      [
        'death and a cybersecurity breach: the shortest, 5 days, over 29 February',
        '2028-02-26T10:00:00Z',
        ['death', 'cybersecurity-breach'],
        1,
        '2028-03-02T10:00:00.000Z',
      ],
      [
        'all three: 2 days, across the EU spring change',
        '2027-03-27T12:00:00Z',
        ['death', 'cybersecurity-breach', 'critical-infrastructure'],
        1,
        '2027-03-29T12:00:00.000Z',
      ],
      [
        "a widespread infringement shortens Art. 73's clock, not this one: 15 days",
        '2027-10-20T00:00:00Z',
        ['widespread-infringement', 'fundamental-rights'],
        1,
        '2027-11-04T00:00:00.000Z',
      ],
    ],
    intermediate: [
      ['28 days after the initial report was submitted', '2026-09-01T10:00:00Z', ['serious-harm-to-health'], 1, '2026-09-29T10:00:00.000Z'],
      ['occurrence 2: 28 days after the first one was due', '2026-09-29T10:00:00.000Z', ['serious-harm-to-health'], 2, '2026-10-27T10:00:00.000Z'],
      ['occurrence 2 across the EU autumn change: still 28 × 24 h', '2027-10-20T10:00:00Z', ['death'], 2, '2027-11-17T10:00:00.000Z'],
      ['28 days from 2 February 2028 is 1 March (leap year)', '2028-02-02T09:00:00Z', ['death'], 1, '2028-03-01T09:00:00.000Z'],
      ['28 days from 2 February 2027 is 2 March', '2027-02-02T09:00:00Z', ['death'], 1, '2027-03-02T09:00:00.000Z'],
      ['the classes do not shorten an intermediate report', '2027-01-10T00:00:00Z', ['critical-infrastructure', 'death'], 1, '2027-02-07T00:00:00.000Z'],
      ['occurrence 4 over the year end, classes or not', '2027-12-20T12:00:00Z', ['critical-infrastructure'], 4, '2028-01-17T12:00:00.000Z'],
    ],
    final: [
      ['60 days after resolution', '2026-09-01T10:00:00Z', ['death'], 1, '2026-10-31T10:00:00.000Z'],
      ['over 29 February 2028: 15 March, not 16', '2028-01-15T00:00:00Z', ['serious-harm-to-health'], 1, '2028-03-15T00:00:00.000Z'],
      ['across the EU spring change: 60 × 24 h', '2027-03-01T12:00:00Z', ['serious-harm-to-health'], 1, '2027-04-30T12:00:00.000Z'],
      ['across the year end', '2027-11-15T18:00:00Z', ['cybersecurity-breach'], 1, '2028-01-14T18:00:00.000Z'],
      ['critical infrastructure does not shorten the final report', '2027-06-30T23:59:59Z', ['critical-infrastructure'], 1, '2027-08-29T23:59:59.000Z'],
    ],
  },
  'us-ca-sb53': {
    initial: [
      ['critical safety incident: 15 days from the determination', '2026-01-05T17:00:00Z', ['critical-safety-incident'], 1, '2026-01-20T17:00:00.000Z'],
      [
        '15 × 24 h across the US spring change (14 March 2027): 09:00 PST → 10:00 PDT',
        '2027-03-10T09:00:00-08:00',
        ['critical-safety-incident'],
        1,
        '2027-03-25T17:00:00.000Z',
      ],
      [
        '15 × 24 h across the US autumn change (7 November 2027): 09:00 PDT → 08:00 PST',
        '2027-11-01T09:00:00-07:00',
        ['critical-safety-incident'],
        1,
        '2027-11-16T16:00:00.000Z',
      ],
      ['over 29 February 2028', '2028-02-20T20:00:00Z', ['critical-safety-incident'], 1, '2028-03-06T20:00:00.000Z'],
      [
        'imminent risk as well: the 15-day report keeps 15 days, over the year end',
        '2026-12-24T08:00:00Z',
        ['critical-safety-incident', 'imminent-risk-of-death-or-injury'],
        1,
        '2027-01-08T08:00:00.000Z',
      ],
    ],
    'imminent-risk': [
      ['imminent risk found with the incident: 24 h', '2026-03-02T10:00:00Z', ['imminent-risk-of-death-or-injury'], 1, '2026-03-03T10:00:00.000Z'],
      [
        'imminent risk added later: 24 h from the moment it was added',
        '2026-06-10T22:45:00Z',
        ['critical-safety-incident', 'imminent-risk-of-death-or-injury'],
        1,
        '2026-06-11T22:45:00.000Z',
      ],
      [
        '24 h across the US spring change: 10:00 PST → 11:00 PDT',
        '2027-03-13T10:00:00-08:00',
        ['imminent-risk-of-death-or-injury'],
        1,
        '2027-03-14T18:00:00.000Z',
      ],
      [
        '24 h across the US autumn change: 10:00 PDT → 09:00 PST',
        '2027-11-06T10:00:00-07:00',
        ['imminent-risk-of-death-or-injury'],
        1,
        '2027-11-07T17:00:00.000Z',
      ],
      ['from the leap day', '2028-02-29T12:00:00Z', ['imminent-risk-of-death-or-injury'], 1, '2028-03-01T12:00:00.000Z'],
    ],
  },
  'us-ny-raise': {
    initial: [
      ['72 h from the determination', '2027-01-04T15:00:00Z', ['critical-safety-incident'], 1, '2027-01-07T15:00:00.000Z'],
      ['72 h across the US spring change: 12:00 EST → 13:00 EDT', '2027-03-12T12:00:00-05:00', ['critical-safety-incident'], 1, '2027-03-15T17:00:00.000Z'],
      ['72 h across the US autumn change: 12:00 EDT → 11:00 EST', '2027-11-05T12:00:00-04:00', ['critical-safety-incident'], 1, '2027-11-08T16:00:00.000Z'],
      ['hours run over a weekend: Friday → Monday', '2027-01-08T20:00:00Z', ['critical-safety-incident'], 1, '2027-01-11T20:00:00.000Z'],
      ['over 29 February 2028', '2028-02-27T06:00:00Z', ['critical-safety-incident'], 1, '2028-03-01T06:00:00.000Z'],
      ['hours run over a public holiday (Thanksgiving 2027)', '2027-11-24T14:00:00Z', ['critical-safety-incident'], 1, '2027-11-27T14:00:00.000Z'],
    ],
    'imminent-risk': [
      ['imminent risk: 24 h', '2027-01-01T00:00:00Z', ['imminent-risk-of-death-or-injury'], 1, '2027-01-02T00:00:00.000Z'],
      [
        'imminent risk added later: 24 h from the moment it was added',
        '2027-05-05T03:30:00Z',
        ['critical-safety-incident', 'imminent-risk-of-death-or-injury'],
        1,
        '2027-05-06T03:30:00.000Z',
      ],
      [
        '23:00 EST the night before the spring change → 00:00 EDT',
        '2027-03-13T23:00:00-05:00',
        ['imminent-risk-of-death-or-injury'],
        1,
        '2027-03-15T04:00:00.000Z',
      ],
      [
        '23:00 EDT the night before the autumn change → 22:00 EST',
        '2027-11-06T23:00:00-04:00',
        ['imminent-risk-of-death-or-injury'],
        1,
        '2027-11-08T03:00:00.000Z',
      ],
      ['onto the leap day', '2028-02-28T23:59:00Z', ['imminent-risk-of-death-or-injury'], 1, '2028-02-29T23:59:00.000Z'],
    ],
  },
  'gdpr-art33': {
    initial: [
      ['72 h after awareness', '2026-05-25T09:00:00Z', ['personal-data-breach'], 1, '2026-05-28T09:00:00.000Z'],
      ['hours run over a weekend: Friday → Monday', '2026-05-29T16:00:00Z', ['personal-data-breach'], 1, '2026-06-01T16:00:00.000Z'],
      ['72 h across the EU spring change: 18:00 CET → 19:00 CEST', '2027-03-26T18:00:00+01:00', ['personal-data-breach'], 1, '2027-03-29T17:00:00.000Z'],
      ['72 h across the EU autumn change: 18:00 CEST → 17:00 CET', '2027-10-29T18:00:00+02:00', ['personal-data-breach'], 1, '2027-11-01T16:00:00.000Z'],
      ['over 29 February 2028', '2028-02-27T12:00:00Z', ['personal-data-breach'], 1, '2028-03-01T12:00:00.000Z'],
      ['over a month end', '2027-04-29T10:00:00Z', ['personal-data-breach'], 1, '2027-05-02T10:00:00.000Z'],
    ],
  },
  'nis2-art23': {
    'early-warning': [
      ['24 h across the EU autumn change 2026: 10:00 CEST → 09:00 CET', '2026-10-24T08:00:00Z', ['significant-incident'], 1, '2026-10-25T08:00:00.000Z'],
      ['24 h across the EU spring change 2027: 20:00 CET → 21:00 CEST', '2027-03-27T20:00:00+01:00', ['significant-incident'], 1, '2027-03-28T19:00:00.000Z'],
      ['from the leap day', '2028-02-29T00:00:00Z', ['significant-incident'], 1, '2028-03-01T00:00:00.000Z'],
      ['across the year end', '2027-12-31T23:00:00Z', ['significant-incident'], 1, '2028-01-01T23:00:00.000Z'],
      ['the classes do not change it', '2027-06-15T14:30:00Z', ['critical-infrastructure', 'cybersecurity-breach'], 1, '2027-06-16T14:30:00.000Z'],
    ],
    notification: [
      ['72 h after awareness, across the EU autumn change 2026', '2026-10-23T08:00:00Z', ['significant-incident'], 1, '2026-10-26T08:00:00.000Z'],
      ['72 h across the EU spring change 2027: 20:00 CET → 21:00 CEST', '2027-03-26T20:00:00+01:00', ['significant-incident'], 1, '2027-03-29T19:00:00.000Z'],
      ['over 29 February 2028', '2028-02-27T00:00:00Z', ['significant-incident'], 1, '2028-03-01T00:00:00.000Z'],
      ['over 28 February 2027', '2027-02-26T00:00:00Z', ['significant-incident'], 1, '2027-03-01T00:00:00.000Z'],
      ['over a month end and a weekend', '2027-04-30T12:00:00Z', ['cybersecurity-breach'], 1, '2027-05-03T12:00:00.000Z'],
    ],
    final: [
      [
        'one month after the notification was submitted: 31 January 2028 → 29 February',
        '2028-01-31T10:00:00Z',
        ['significant-incident'],
        1,
        '2028-02-29T10:00:00.000Z',
      ],
      ['31 January 2027 → 28 February', '2027-01-31T10:00:00Z', ['significant-incident'], 1, '2027-02-28T10:00:00.000Z'],
      ['31 March → 30 April', '2027-03-31T16:00:00Z', ['significant-incident'], 1, '2027-04-30T16:00:00.000Z'],
      ['29 February 2028 → 29 March', '2028-02-29T12:00:00Z', ['significant-incident'], 1, '2028-03-29T12:00:00.000Z'],
      ['31 December → 31 January, next year', '2027-12-31T23:30:00Z', ['significant-incident'], 1, '2028-01-31T23:30:00.000Z'],
      [
        '15 March across the EU spring change: the same UTC time a month later',
        '2027-03-15T09:00:00Z',
        ['significant-incident'],
        1,
        '2027-04-15T09:00:00.000Z',
      ],
      [
        'a late notification (sent 5 days after awareness): a month from its real submission',
        '2027-05-06T11:00:00Z',
        ['significant-incident'],
        1,
        '2027-06-06T11:00:00.000Z',
      ],
      [
        'the incident resolved before the notification was sent: the month still runs from its submission',
        '2027-09-30T07:00:00Z',
        ['significant-incident'],
        1,
        '2027-10-30T07:00:00.000Z',
      ],
    ],
  },
  'dora-art19': {
    initial: [
      ['classified as major at awareness: 4 h', '2027-06-01T08:00:00Z', ['major-ict-incident'], 1, '2027-06-01T12:00:00.000Z', '2027-06-01T08:00:00Z'],
      [
        'classified 10 h after awareness: 4 h after classification',
        '2027-06-01T18:00:00Z',
        ['major-ict-incident'],
        1,
        '2027-06-01T22:00:00.000Z',
        '2027-06-01T08:00:00Z',
      ],
      [
        'classified 20 h after awareness: both bounds meet at 24 h',
        '2027-06-02T04:00:00Z',
        ['major-ict-incident'],
        1,
        '2027-06-02T08:00:00.000Z',
        '2027-06-01T08:00:00Z',
      ],
      [
        'classified 22 h after awareness: no later than awareness + 24 h',
        '2027-06-02T06:00:00Z',
        ['major-ict-incident'],
        1,
        '2027-06-02T08:00:00.000Z',
        '2027-06-01T08:00:00Z',
      ],
      [
        'classified 30 h after awareness: awareness + 24 h, already past',
        '2027-06-02T14:00:00Z',
        ['major-ict-incident'],
        1,
        '2027-06-02T08:00:00.000Z',
        '2027-06-01T08:00:00Z',
      ],
      ['awareness not known: 4 h, across the EU spring change', '2027-03-28T00:30:00Z', ['major-ict-incident'], 1, '2027-03-28T04:30:00.000Z'],
      [
        'classified 22 h after awareness, over the leap day',
        '2028-02-29T21:00:00Z',
        ['major-ict-incident'],
        1,
        '2028-02-29T23:00:00.000Z',
        '2028-02-28T23:00:00Z',
      ],
    ],
    intermediate: [
      ['72 h after the initial notification was submitted', '2027-06-01T12:00:00Z', ['major-ict-incident'], 1, '2027-06-04T12:00:00.000Z'],
      ['a late initial notification: 72 h from its real submission', '2027-06-03T09:00:00Z', ['major-ict-incident'], 1, '2027-06-06T09:00:00.000Z'],
      ['72 h across the EU spring change: 15:00 CET → 16:00 CEST', '2027-03-26T15:00:00+01:00', ['major-ict-incident'], 1, '2027-03-29T14:00:00.000Z'],
      ['over 29 February 2028', '2028-02-27T10:00:00Z', ['major-ict-incident'], 1, '2028-03-01T10:00:00.000Z'],
      ['hours run over a weekend: Friday → Monday', '2027-06-04T17:00:00Z', ['major-ict-incident'], 1, '2027-06-07T17:00:00.000Z'],
    ],
    final: [
      ['one month after the intermediate report: 31 January 2028 → 29 February', '2028-01-31T08:00:00Z', ['major-ict-incident'], 1, '2028-02-29T08:00:00.000Z'],
      ['31 March → 30 April', '2027-03-31T08:00:00Z', ['major-ict-incident'], 1, '2027-04-30T08:00:00.000Z'],
      ['30 January 2027 → 28 February', '2027-01-30T14:00:00Z', ['major-ict-incident'], 1, '2027-02-28T14:00:00.000Z'],
      ['31 August → 30 September', '2027-08-31T12:00:00Z', ['major-ict-incident'], 1, '2027-09-30T12:00:00.000Z'],
      ['across the EU autumn change: the same UTC time a month later', '2027-10-15T09:00:00Z', ['major-ict-incident'], 1, '2027-11-15T09:00:00.000Z'],
      ['an intermediate report sent after resolution still starts it', '2027-07-10T10:00:00Z', ['major-ict-incident'], 1, '2027-08-10T10:00:00.000Z'],
    ],
  },
  'us-sec-8k': {
    filing: [
      [
        'Wednesday before Thanksgiving 2026: the 26th and the weekend skipped, 17:30 EST',
        '2026-11-25T15:00:00Z',
        ['material-cybersecurity-incident'],
        1,
        '2026-12-02T22:30:00.000Z',
      ],
      ['Friday: the weekend skipped, Thursday 17:30 EDT', '2027-06-04T14:00:00Z', ['material-cybersecurity-incident'], 1, '2027-06-10T21:30:00.000Z'],
      [
        'Friday 21:00 in New York, Saturday in UTC: still from Friday',
        '2027-06-05T01:00:00Z',
        ['material-cybersecurity-incident'],
        1,
        '2027-06-10T21:30:00.000Z',
      ],
      [
        'across the US spring change (14 March 2027): due 17:30 EDT',
        '2027-03-11T15:00:00Z',
        ['material-cybersecurity-incident'],
        1,
        '2027-03-17T21:30:00.000Z',
      ],
      [
        'across the US autumn change and Veterans Day (Thursday 11 November 2027)',
        '2027-11-05T15:00:00Z',
        ['material-cybersecurity-incident'],
        1,
        '2027-11-12T22:30:00.000Z',
      ],
      ['New Year 2028 observed on Friday 31 December 2027', '2027-12-28T15:00:00Z', ['material-cybersecurity-incident'], 1, '2028-01-04T22:30:00.000Z'],
      ['Presidents Day 2028 (Monday 21 February)', '2028-02-18T15:00:00Z', ['material-cybersecurity-incident'], 1, '2028-02-25T22:30:00.000Z'],
      ['29 February 2028 is a business day', '2028-02-25T15:00:00Z', ['material-cybersecurity-incident'], 1, '2028-03-02T22:30:00.000Z'],
      ['over a month end', '2027-09-30T15:00:00Z', ['material-cybersecurity-incident'], 1, '2027-10-06T21:30:00.000Z'],
    ],
  },
  'us-circia': {
    incident: [
      ['72 h after the determination, over 28 February 2027', '2027-02-26T12:00:00Z', ['cybersecurity-breach'], 1, '2027-03-01T12:00:00.000Z'],
      ['over 29 February 2028', '2028-02-27T12:00:00Z', ['cybersecurity-breach'], 1, '2028-03-01T12:00:00.000Z'],
      ['72 h across the US spring change: 09:00 EST → 10:00 EDT', '2027-03-12T09:00:00-05:00', ['cybersecurity-breach'], 1, '2027-03-15T14:00:00.000Z'],
      ['hours run over Thanksgiving and a weekend', '2027-11-24T20:00:00Z', ['cybersecurity-breach'], 1, '2027-11-27T20:00:00.000Z'],
      [
        'a ransom paid as well: the incident report keeps 72 h',
        '2027-07-01T00:00:00Z',
        ['cybersecurity-breach', 'ransom-payment'],
        1,
        '2027-07-04T00:00:00.000Z',
      ],
    ],
    ransom: [
      ['24 h after the ransom payment', '2027-07-03T18:00:00Z', ['ransom-payment'], 1, '2027-07-04T18:00:00.000Z'],
      ['24 h across the US spring change: 12:00 EST → 13:00 EDT', '2027-03-13T12:00:00-05:00', ['ransom-payment'], 1, '2027-03-14T17:00:00.000Z'],
      ['24 h across the US autumn change: 12:00 EDT → 11:00 EST', '2027-11-06T12:00:00-04:00', ['ransom-payment'], 1, '2027-11-07T16:00:00.000Z'],
      ['onto the leap day', '2028-02-28T09:00:00Z', ['ransom-payment'], 1, '2028-02-29T09:00:00.000Z'],
      ['across the year end', '2027-12-31T05:00:00Z', ['ransom-payment', 'cybersecurity-breach'], 1, '2028-01-01T05:00:00.000Z'],
    ],
  },
  'cn-cac': {
    initial: [
      ['4 h, on the day the measures took effect', '2025-11-01T02:00:00Z', ['cybersecurity-breach'], 1, '2025-11-01T06:00:00.000Z'],
      ['across midnight and the year end', '2027-12-31T22:00:00Z', ['significant-incident'], 1, '2028-01-01T02:00:00.000Z'],
      ['onto the leap day', '2028-02-28T22:30:00Z', ['significant-incident'], 1, '2028-02-29T02:30:00.000Z'],
      ['23:00 Beijing time on 30 April: 03:00 on 1 May there', '2027-04-30T23:00:00+08:00', ['significant-incident'], 1, '2027-04-30T19:00:00.000Z'],
      ['the classes do not change it', '2027-06-15T06:00:00Z', ['significant-incident', 'cybersecurity-breach'], 1, '2027-06-15T10:00:00.000Z'],
    ],
    summary: [
      ['30 days after resolution: 31 January 2027 → 2 March', '2027-01-31T10:00:00Z', ['cybersecurity-breach'], 1, '2027-03-02T10:00:00.000Z'],
      ['31 January 2028 → 1 March (leap year)', '2028-01-31T10:00:00Z', ['cybersecurity-breach'], 1, '2028-03-01T10:00:00.000Z'],
      ['31 March → 30 April', '2027-03-31T04:00:00Z', ['significant-incident'], 1, '2027-04-30T04:00:00.000Z'],
      ['across the year end', '2027-12-15T00:00:00Z', ['significant-incident'], 1, '2028-01-14T00:00:00.000Z'],
      ['days, not a month: 1 February 2027 → 3 March', '2027-02-01T08:00:00Z', ['significant-incident'], 1, '2027-03-03T08:00:00.000Z'],
    ],
  },
};

function clockOf(regimeId: string, clockId: string): { regime: Regime; clock: RegulatoryClock } {
  const regime = regimesById.get(regimeId);
  const clock = regime?.clocks.find((c) => c.id === clockId);
  if (!regime || !clock) throw new Error(`no clock ${regimeId}/${clockId} in the catalogue`);
  return { regime, clock };
}

const due = (regime: Regime, clock: RegulatoryClock, startAt: string, occurrence: number, classes: readonly string[], latestStartAt?: string) =>
  clockDeadline(regime, clock, { startAt, occurrence, classes, latestStartAt });

describe('regulator deadlines, worked out from the rules', () => {
  it('has at least five cases for every clock of every built-in regime, and none for a clock that is not there', () => {
    const counted = regimeCatalogue.flatMap((regime) => regime.clocks.map((clock) => `${regime.id}/${clock.id}: ${cases[regime.id]?.[clock.id]?.length ?? 0}`));
    expect(counted.filter((line) => Number(line.split(': ')[1]) < 5)).toEqual([]);
    const tabled = Object.entries(cases).flatMap(([regimeId, clocks]) => Object.keys(clocks).map((clockId) => `${regimeId}/${clockId}`));
    expect(tabled.sort()).toEqual(regimeCatalogue.flatMap((regime) => regime.clocks.map((clock) => `${regime.id}/${clock.id}`)).sort());
  });

  for (const [regimeId, clocks] of Object.entries(cases)) {
    for (const [clockId, rows] of Object.entries(clocks)) {
      const { regime, clock } = clockOf(regimeId, clockId);
      describe(`${regimeId} ${clock.report} (${clockId}: ${clock.deadline} from ${clock.start})`, () => {
        it.each(rows)('%s', (_name, start, classes, occurrence, expected, latestStart) => {
          expect(new Date(due(regime, clock, start, occurrence, classes, latestStart)).toISOString()).toBe(expected);
        });
      });
    }
  }
});

// ---------------------------------------------------------------------------------------------------
// Properties over seeded random starts.

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const FROM = Date.UTC(2025, 0, 1);
const UNTIL = Date.UTC(2032, 0, 1);
const RUNS = 3000;

/** Days on which counting goes wrong most easily: month ends, leap days, DST changes, holidays. */
const awkwardDays = [
  '2028-01-31',
  '2028-02-28',
  '2028-02-29',
  '2027-01-31',
  '2027-02-28',
  '2027-03-31',
  '2027-08-31',
  '2027-12-31',
  '2027-03-14',
  '2027-03-27',
  '2027-03-28',
  '2027-10-30',
  '2027-10-31',
  '2027-11-06',
  '2027-11-07',
  '2026-11-25',
  '2026-11-26',
  '2027-12-23',
  '2027-12-24',
  '2027-12-30',
  '2027-12-31',
  '2030-06-30',
];

function randomStart(random: () => number): number {
  // A quarter of the starts fall on an awkward day, at any millisecond of it.
  if (random() < 0.25) return Date.parse(`${awkwardDays[Math.floor(random() * awkwardDays.length)]}T00:00:00Z`) + Math.floor(random() * DAY);
  return FROM + Math.floor(random() * (UNTIL - FROM));
}

function randomClasses(random: () => number, regime: Regime): string[] {
  const pool = [...new Set([...regime.triggerClasses, ...regime.clocks.flatMap((c) => [...(c.onlyFor ?? []), ...(c.sooner ?? []).flatMap((s) => s.classes)])])];
  return pool.filter(() => random() < 0.4);
}

const offsetOf = (text: string): ClockOffset => parseClockOffset(text)!;

/** The longest a rule can take: hours and days exactly, a month at most 31 days, N business days at most N × 7/5 + 5 days. */
function longestSpan(offset: ClockOffset): number {
  switch (offset.unit) {
    case 'hours':
      return offset.amount * HOUR;
    case 'days':
      return offset.amount * DAY;
    case 'months':
      return offset.amount * 31 * DAY;
    case 'businessDays':
      return ((offset.amount * 7) / 5 + 5) * DAY;
  }
}

/** The offsets that apply to an occurrence with these classes (the `latest` bound aside). */
function applicable(clock: RegulatoryClock, occurrence: number, classes: readonly string[]): ClockOffset[] {
  if (occurrence > 1 && clock.repeatEvery) return [offsetOf(clock.repeatEvery)];
  return [clock.deadline, ...(clock.sooner ?? []).filter((s) => s.classes.some((c) => classes.includes(c))).map((s) => s.deadline)].map(offsetOf);
}

const allClocks = regimeCatalogue.flatMap((regime) => regime.clocks.map((clock) => ({ regime, clock })));

describe('regulator deadline properties (seeded random starts 2025–2031)', () => {
  it.each(allClocks.map(({ regime, clock }) => [`${regime.id}/${clock.id}`, regime, clock] as const))(
    '%s: never before its start, never beyond the longest span, hours and days exact, repeats on the cadence',
    (_id, regime, clock) => {
      const random = prng([...`${regime.id}/${clock.id}`].reduce((hash, ch) => Math.imul(hash ^ ch.charCodeAt(0), 16_777_619), 2_166_136_261));
      const failures: string[] = [];
      for (let run = 0; run < RUNS; run += 1) {
        const startMs = randomStart(random);
        const startAt = new Date(startMs).toISOString();
        const classes = randomClasses(random, regime);
        const occurrence = clock.repeatEvery && random() < 0.5 ? 2 + Math.floor(random() * 5) : 1;
        // The `latest` bound's start (DORA's awareness) at most 24 h before the clock's own start, so the bound cannot fall before it.
        const latestStartAt = clock.latest
          ? new Date(startMs - Math.floor(random() * (offsetOf(clock.latest.deadline).amount * HOUR))).toISOString()
          : undefined;
        const dueMs = due(regime, clock, startAt, occurrence, classes, latestStartAt);
        const offsets = applicable(clock, occurrence, classes);
        const why = `${startAt} ${JSON.stringify(classes)} occurrence ${occurrence}${latestStartAt ? ` latest from ${latestStartAt}` : ''} → ${new Date(dueMs).toISOString()}`;

        if (!(dueMs >= startMs)) failures.push(`before its start: ${why}`);
        const longest = Math.max(
          ...[clock.deadline, ...(clock.sooner ?? []).map((s) => s.deadline), ...(clock.repeatEvery ? [clock.repeatEvery] : [])].map((t) =>
            longestSpan(offsetOf(t)),
          ),
        );
        if (dueMs - startMs > longest) failures.push(`beyond ${longest / DAY} days: ${why}`);
        if (occurrence > 1 && dueMs !== startMs + longestSpan(offsetOf(clock.repeatEvery!))) failures.push(`off the ${clock.repeatEvery} cadence: ${why}`);
        if (offsets.every((o) => o.unit === 'hours' || o.unit === 'days')) {
          const exact = Math.min(...offsets.map(longestSpan));
          const bound = occurrence === 1 && clock.latest && latestStartAt ? Date.parse(latestStartAt) + longestSpan(offsetOf(clock.latest.deadline)) : Infinity;
          if (dueMs !== Math.min(startMs + exact, bound)) failures.push(`not the shortest exact span (${exact / HOUR} h): ${why}`);
        }
        for (const offset of offsets.filter((o) => o.unit === 'months')) {
          const start = new Date(startMs);
          const end = new Date(dueMs);
          const months = (end.getUTCFullYear() - start.getUTCFullYear()) * 12 + end.getUTCMonth() - start.getUTCMonth();
          const lastDay = new Date(Date.UTC(end.getUTCFullYear(), end.getUTCMonth() + 1, 0)).getUTCDate();
          if (months !== offset.amount || end.getUTCDate() !== Math.min(start.getUTCDate(), lastDay) || dueMs % DAY !== startMs % DAY)
            failures.push(`not ${offset.amount} calendar month(s) later: ${why}`);
        }
        // A class more can only make a deadline sooner.
        const fewer = classes.slice(1);
        if (due(regime, clock, startAt, occurrence, fewer, latestStartAt) < dueMs) failures.push(`a class more made it later: ${why}`);
      }
      expect(failures.slice(0, 10)).toEqual([]);
    },
  );

  it('SEC filings fall on a New York business day at 17:30, after the determination day', () => {
    const { regime, clock } = clockOf('us-sec-8k', 'filing');
    const random = prng(8_105);
    const ny = new Intl.DateTimeFormat('en-US', { timeZone: 'America/New_York', hourCycle: 'h23', weekday: 'short', hour: '2-digit', minute: '2-digit' });
    const nyDate = new Intl.DateTimeFormat('en-CA', { timeZone: 'America/New_York' });
    const failures: string[] = [];
    for (let run = 0; run < RUNS; run += 1) {
      const start = new Date(randomStart(random));
      const end = new Date(due(regime, clock, start.toISOString(), 1, ['material-cybersecurity-incident']));
      const parts = Object.fromEntries(ny.formatToParts(end).map((p) => [p.type, p.value]));
      if (parts.weekday === 'Sat' || parts.weekday === 'Sun' || `${parts.hour}:${parts.minute}` !== '17:30' || !(nyDate.format(end) > nyDate.format(start)))
        failures.push(`${start.toISOString()} → ${end.toISOString()} (${parts.weekday} ${parts.hour}:${parts.minute} New York)`);
    }
    expect(failures.slice(0, 10)).toEqual([]);
  });

  it("DORA: classified more than 24 h after awareness, the initial report is due at awareness + 24 h, before the clock's start (already late)", () => {
    const { regime, clock } = clockOf('dora-art19', 'initial');
    const random = prng(19);
    for (let run = 0; run < 200; run += 1) {
      const awareness = randomStart(random);
      const classification = awareness + 24 * HOUR + 1 + Math.floor(random() * 10 * DAY);
      const dueMs = due(regime, clock, new Date(classification).toISOString(), 1, ['major-ict-incident'], new Date(awareness).toISOString());
      expect(dueMs).toBe(awareness + 24 * HOUR);
    }
  });
});
