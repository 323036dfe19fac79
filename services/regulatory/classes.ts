/**
 * How responders classify an incident; regimes apply by these classes (EU AI Act Art. 3(49) and the
 * others in the catalogue). Kept apart from the zod schemas (./regime.ts) so that the CLI's help can
 * name them without loading zod.
 */
export const incidentClasses = [
  'death',
  'serious-harm-to-health',
  'critical-infrastructure',
  'widespread-infringement',
  'fundamental-rights',
  'property-or-environment',
  'cybersecurity-breach',
  'personal-data-breach',
  'critical-safety-incident',
  'imminent-risk-of-death-or-injury',
  'major-ict-incident',
  'significant-incident',
  'material-cybersecurity-incident',
  'ransom-payment',
] as const;
