/** A weekly rotation of frontier-assistant's people in Berlin, starting a fortnight before the change to summer time. */
export const primarySchedule = {
  id: 'assistant-primary',
  name: 'Assistant primary',
  timeZone: 'Europe/Berlin',
  // Monday 2027-03-15 09:00 local; Berlin moves its clocks forward on Sunday 2027-03-28.
  layers: [{ id: 'weekly', members: ['amara-okafor', 'jonas-berg'], start: '2027-03-15T09:00', shift: '1w' }],
  fallback: 'li-wei',
};
