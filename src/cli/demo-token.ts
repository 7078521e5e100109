// A JWT-shaped token for the simulator and demo (unsigned: the simulator only compares strings), with
// an `exp` an hour ahead so the token-expiry metric has something to show.
export function demoToken(expSeconds = Math.floor(Date.now() / 1000) + 3600): string {
  const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const claims = { iss: 'nodegraf-demo', sub: 'system:serviceaccount:nodegraf:nodegraf', exp: expSeconds };
  return `${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims)}.demo`;
}
