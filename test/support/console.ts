import type { RunningApi } from './api.js';

/** Signs in to the console as a browser does (the sign-in form's secret, then a token); returns the session cookie. */
export async function consoleSession(api: RunningApi, token: string): Promise<string> {
  const form = await fetch(`${api.url}/console/sign-in`);
  const csrf = /name="_csrf" value="([^"]+)"/.exec(await form.text())?.[1];
  const formCookie = form.headers.get('set-cookie')?.split(';')[0];
  if (!csrf || !formCookie) throw new Error(`the console's sign-in form has no secret (${form.status})`);
  const signIn = await fetch(`${api.url}/console/sign-in`, {
    method: 'POST',
    redirect: 'manual',
    headers: { cookie: formCookie, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ _csrf: csrf, token, next: '/console' }).toString(),
  });
  const cookie = signIn.headers.get('set-cookie')?.split(';')[0];
  if (signIn.status !== 303 || !cookie?.startsWith('correx_session=')) throw new Error(`console sign-in answered ${signIn.status}`);
  return cookie;
}
