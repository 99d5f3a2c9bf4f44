#!/usr/bin/python3
"""stub_console.py: the console's pages served as rogatory-console serves them (page
paths, /static/, the same security headers) with canned answers for /api/* from
fixtures/ (real `rogatoryctl --json` output of the demo network). For working on the
pages without daemons, and for console_test.py --stub (rendering, CSP, French, no
console errors). Not a test of the console program itself.

    stub_console.py [--port N] [--role viewer|officer|operator]
"""
import argparse
import json
import os
import sys
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

HERE = os.path.dirname(os.path.abspath(__file__))
WWW = os.path.join(HERE, '..', '..', 'console', 'www')
FIX = os.path.join(HERE, 'fixtures')
PAGES = {'/': 'index.html', '/messages': 'messages.html', '/message': 'message.html',
         '/log': 'log.html', '/peers': 'peers.html', '/directory': 'directory.html',
         '/cases': 'cases.html', '/case': 'case.html', '/draft': 'draft.html',
         '/stats': 'stats.html', '/login': 'login.html'}
TYPES = {'.html': 'text/html; charset=utf-8', '.css': 'text/css; charset=utf-8',
         '.js': 'text/javascript; charset=utf-8', '.json': 'application/json; charset=utf-8',
         '.svg': 'image/svg+xml'}
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
CSRF = 'stub-csrf-token'
ROLE = 'operator'
UPLOADS = {}
SEQ = [100]


def fixture(name):
    with open(os.path.join(FIX, name + '.json')) as f:
        return json.load(f)


def required_problems(doc):
    """The stub's stand-in for the daemon's check: the required top-level elements."""
    t = fixture('draft-mla')
    probs = []
    for e in t['elements']:
        p = e['path']
        if '.' in p or '[' in p or not e['required'] or p == 'kind':
            continue
        if p not in doc or doc[p] in ('', [], {}):
            probs.append({'path': p, 'reason': 'required'})
    return probs


class Handler(BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'

    def log_message(self, fmt, *args):
        if os.environ.get('STUB_VERBOSE'):
            sys.stderr.write('stub: ' + fmt % args + '\n')

    def headers_common(self):
        self.send_header('Content-Security-Policy', CSP)
        self.send_header('X-Frame-Options', 'DENY')
        self.send_header('X-Content-Type-Options', 'nosniff')
        self.send_header('Referrer-Policy', 'no-referrer')

    def send(self, code, body, ctype='application/json; charset=utf-8'):
        if not isinstance(body, bytes):
            body = json.dumps(body).encode()
        self.send_response(code)
        self.headers_common()
        self.send_header('Content-Type', ctype)
        self.send_header('Content-Length', str(len(body)))
        self.send_header('Cache-Control', 'no-store')
        self.end_headers()
        self.wfile.write(body)

    def file(self, path, code=200):
        ext = os.path.splitext(path)[1]
        with open(path, 'rb') as f:
            self.send(code, f.read(), TYPES.get(ext, 'application/octet-stream'))

    def do_GET(self):
        u = urlparse(self.path)
        q = {k: v[0] for k, v in parse_qs(u.query).items()}
        if u.path in PAGES:
            return self.file(os.path.join(WWW, PAGES[u.path]))
        if u.path.startswith('/static/'):
            rel = os.path.normpath(u.path[len('/static/'):])
            if rel.startswith('..'):
                return self.send(404, {'error': 'not-found'})
            p = os.path.join(WWW, rel)
            return self.file(p) if os.path.isfile(p) else self.send(404, {'error': 'not-found'})
        if u.path == '/api/events':
            return self.events()
        return self.api_get(u.path, q)

    def api_get(self, path, q):
        if path == '/api/me':
            return self.send(200, {'name': 'alice', 'role': ROLE, 'csrf': CSRF,
                                   'expires': '2026-12-03T23:00:00Z', 'idle_expires': '2026-12-03T12:00:00Z'})
        simple = {'/api/status': 'status', '/api/peers': 'peers', '/api/directory': 'directory',
                  '/api/stats': 'stats', '/api/authority': 'authority'}
        if path in simple:
            return self.send(200, fixture(simple[path]))
        if path == '/api/alerts':
            return self.send(200, [{'alert': 'peer-down', 'subject': 'UA-PGO', 'since': '2026-12-03T11:00:00Z',
                                    'detail': 'UA-PGO has had no link for 10m0s'}])
        if path == '/api/messages':
            msgs = [m for m in fixture('queue') + fixture('inbox')
                    if q.get('direction', m['direction']) == m['direction']
                    and q.get('state', m['state']) == m['state']]
            return self.send(200, {'messages': msgs, 'next': 'stub-cursor' if not q.get('before') else None})
        if path == '/api/message':
            show = fixture('show')
            return self.send(200, {'message': show, 'events': show['events'], 'verify': fixture('verify')})
        if path == '/api/export':
            return self.send(200, {'format': 'rogatory-evidence/1', 'verify': fixture('verify'),
                                   'files': [{'part': 1, 'path': 'document.body', 'size': 1881,
                                              'sha256': 'a4' * 32, 'what': 'the signed document'}]})
        if path == '/api/cases':
            return self.send(200, fixture('cases'))
        if path == '/api/case':
            c = fixture('case')
            c['case']['next_statuses'] = ['progress-inquiry', 'withdrawn']
            if os.environ.get('STUB_SIDE') == 'requested':
                c['case']['next_statuses'] = ['in-progress', 'consultation', 'refused', 'executed']
            return self.send(200, c)
        if path == '/api/kinds':
            return self.send(200, [{'kind': k, 'label': k} for k in
                                   ['mla', 'extradition', 'provisional-arrest', 'asset-recovery',
                                    'service-of-documents', 'other']])
        if path == '/api/template':
            return self.send(200, fixture('draft-mla'))
        return self.send(404, {'error': 'not-found', 'text': 'no such path'})

    def body(self):
        n = int(self.headers.get('Content-Length') or 0)
        return self.rfile.read(n)

    def do_POST(self):
        u = urlparse(self.path)
        q = {k: v[0] for k, v in parse_qs(u.query).items()}
        data = self.body()
        if self.headers.get('X-CSRF-Token') != CSRF:
            return self.send(403, {'error': 'csrf', 'text': 'missing or wrong X-CSRF-Token'})
        msg = dict(fixture('show'), id=str(uuid.uuid4()), state='queued')
        msg.pop('events', None)
        if u.path == '/api/validate':
            p = required_problems(json.loads(data)['document'])
            return self.send(200, {'ok': not p, 'problems': p})
        if u.path == '/api/send':
            j = json.loads(data)
            p = required_problems(j['document'])
            if p:
                return self.send(400, {'error': 'invalid-document', 'text': 'not valid', 'problems': p})
            if j.get('attachments'):
                uid = uuid.uuid4().hex
                UPLOADS[uid] = [sum(a['size'] for a in j['attachments']), 0]
                return self.send(200, {'upload': uid})
            return self.send(200, {'message': msg})
        if u.path == '/api/upload':
            up = UPLOADS.get(q.get('u'))
            if up is None:
                return self.send(404, {'error': 'not-found'})
            up[1] += len(data)
            return self.send(200, {'message': msg} if up[1] >= up[0] else {'received': up[1]})
        if u.path in ('/api/retry', '/api/cancel', '/api/update'):
            return self.send(200, {'message': msg})
        if u.path in ('/api/pause', '/api/resume', '/api/connect', '/api/logout'):
            return self.send(200, {})
        return self.send(404, {'error': 'not-found'})

    def events(self):
        self.send_response(200)
        self.headers_common()
        self.send_header('Content-Type', 'text/event-stream')
        self.send_header('Cache-Control', 'no-store')
        self.end_headers()
        try:
            for e in fixture('show')['events']:
                self.wfile.write(('id: %d\nevent: log\ndata: %s\n\n' % (e['seq'], json.dumps(e))).encode())
            self.wfile.flush()
            while True:
                # Deliberate: the stub's stand-in for a live network makes one event
                # every 2 s (its pace, not a wait for anything).
                time.sleep(2)
                SEQ[0] += 1
                e = {'seq': SEQ[0], 'ts': time.strftime('%Y-%m-%dT%H:%M:%S.000000Z', time.gmtime()),
                     'event': 'link-up', 'peer': 'FR-MJ', 'direction': 'out', 'attempt': 0, 'bytes': 0}
                self.wfile.write(('id: %d\nevent: log\ndata: %s\n\n' % (e['seq'], json.dumps(e))).encode())
                self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            pass


def main():
    global ROLE
    ap = argparse.ArgumentParser()
    ap.add_argument('--port', type=int, default=8744)
    ap.add_argument('--role', default='operator')
    a = ap.parse_args()
    ROLE = a.role
    srv = ThreadingHTTPServer(('127.0.0.1', a.port), Handler)
    srv.daemon_threads = True
    print('stub console on http://127.0.0.1:%d/' % srv.server_address[1], flush=True)
    srv.serve_forever()


if __name__ == '__main__':
    main()
