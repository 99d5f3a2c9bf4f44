#!/usr/bin/python3
"""console_test.py: the web console in a real browser (headless Chromium driven by
Selenium 4, Debian's chromium, chromium-driver and python3-selenium; run it with
/usr/bin/python3). tests/integration/test_console.c starts two rogatoryd and one
rogatory-console per daemon, then runs one group of scenarios:

  console_test.py --group G --url-a URL --url-b URL --ctl ROGATORYCTL \
      --sock-a SOCK --sock-b SOCK --id-a ID --id-b ID [--id-down ID] [--file PATH]

groups (issue 18, "Tests in a real browser"):
  catalog   en.json and fr.json have the same keys; every data-i18n key of the pages and
            every literal key of the scripts is in them (no browser, no daemon)
  login     a login link works once (the second time: refused); no cookie: the login
            page; a viewer cannot send (no Draft in the menu, POST /api/send 403); a POST
            without the CSRF token: 403
  live      a message sent with rogatoryctl appears in the live log within 2 s
  case      draft an MLA request with a required element missing: the problem shows at
            that field; fix it, attach a file, send: delivered; at the other console it
            is an incoming case, acknowledged there; the first side sees acknowledged
  operate   messages: filters (authority, state, direction, id), paging with the cursor,
            a message's timeline, receipt, verify, evidence export, retry and cancel for
            operators only; pause and resume on the links page; statistics as SVG
  big       a 100 MiB attachment through the draft page, with its progress bar
  pages     every page: nothing from another origin, no error in the browser console,
            rendered in French (?lang=fr); a screenshot of the overview (the case group
            takes one of its case) into $ROGATORY_SCREENSHOTS (when set)

  console_test.py --stub [--group catalog,pages,draft]   the pages against
            stub_console.py's canned answers (no daemon, no console program)

Waits are WebDriverWait conditions with deadlines, never fixed sleeps. Exit 0 when every
check of the group passed; each failure is printed with what was seen.
"""
import argparse
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import traceback

from selenium import webdriver
from selenium.common.exceptions import (StaleElementReferenceException, TimeoutException,
                                        WebDriverException)
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select, WebDriverWait

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.normpath(os.path.join(HERE, '..', '..'))
WWW = os.path.join(TOP, 'console', 'www')
PAGES = ['/', '/messages', '/message', '/log', '/peers', '/directory', '/cases', '/case',
         '/draft', '/stats', '/login']
DEADLINE = 20          # seconds for a page to render
FAILURES = []


def log(*a):
    print(*a, flush=True)


def check(cond, what):
    if cond:
        log('  ok   ' + what)
    else:
        log('  FAIL ' + what)
        FAILURES.append(what)
    return cond


# ---- the catalog ----------------------------------------------------------------------

def catalog_keys():
    cats = {}
    for lang in ('en', 'fr'):
        with open(os.path.join(WWW, 'i18n', lang + '.json'), encoding='utf-8') as f:
            cats[lang] = json.load(f)
    return cats


def group_catalog(args):
    log('== catalog')
    cats = catalog_keys()
    en, fr = set(cats['en']), set(cats['fr'])
    check(en == fr, 'en.json and fr.json have the same keys (only en: %s; only fr: %s)'
          % (sorted(en - fr)[:10], sorted(fr - en)[:10]))
    for lang, c in cats.items():
        check(c.get('_dir') in ('ltr', 'rtl'), '%s.json has _dir ltr or rtl' % lang)
        empty = [k for k, v in c.items() if not isinstance(v, str) or not v.strip()]
        check(not empty, '%s.json: every string is non-empty text (%s)' % (lang, empty[:10]))
        for k, v in c.items():
            if k.startswith('_'):
                continue
            ph_en = set(re.findall(r'\{[a-z_]+\}', cats['en'].get(k, '')))
            ph = set(re.findall(r'\{[a-z_]+\}', v))
            if ph != ph_en:
                check(False, '%s.json %s: placeholders %s, English has %s' % (lang, k, ph, ph_en))
    used = set()
    for path in glob.glob(os.path.join(WWW, '*.html')) + glob.glob(os.path.join(WWW, '*.js')):
        text = open(path, encoding='utf-8').read()
        used |= set(re.findall(r'data-i18n(?:-[a-z-]+)?="([^"]+)"', text))
        used |= set(re.findall(r"data-i18n(?:-[a-z-]+)?': '([^']+)'", text))
        used |= set(re.findall(r"RG\.t\('([^']+)'", text))
        used |= set(re.findall(r"'((?:col|common|message|req|update|overview|case|draft|verify|"
                               r"log|peers|directory|problem|time|unit|export|pager|filter|cases|"
                               r"nav|title|lang|login|stats|messages)\.[a-z_0-9]+)'", text))
    missing = sorted(k for k in used if k not in en and not k.endswith(('.', '_')))
    check(not missing, 'every key the pages and scripts name is in the catalog (missing: %s)'
          % missing[:20])
    # the daemon's tables have their labels: every element (and its hint, the same text
    # in English as the daemon's), every reason code, every case status and state
    src = open(os.path.join(TOP, 'daemon', 'casedoc.c'), encoding='utf-8').read()
    body = src[src.index('const struct cd_elem cd_elems[] = {'):src.index('const size_t cd_n_elems')]
    elems = re.findall(r'\{"([a-z_.]+)",\s*CD_[A-Z]+,\s*CD_[A-Z_]+,\s*(?:true|false),\s*\w+,\s*'
                       r'((?:"(?:[^"\\]|\\.)*"\s*)+)\}', body)
    check(len(elems) > 50, 'the elements of daemon/casedoc.c read (%d)' % len(elems))
    for path, h in elems:
        check('el.' + path in en, 'a label for the element ' + path)
        hint = ''.join(re.findall(r'"((?:[^"\\]|\\.)*)"', h)).replace('\\"', '"')
        if 'hint.' + path in en:
            check(cats['en']['hint.' + path] == hint, 'hint.%s in en.json is the daemon\'s hint' % path)
    case_c = open(os.path.join(TOP, 'daemon', 'case.c'), encoding='utf-8').read()
    for code in re.findall(r'^\t\{"([a-z0-9-]+)", "(?:UNCAC|treaty|-)', case_c, re.M):
        check('reason.' + code in en, 'a label for the reason code ' + code)
    for st in re.findall(r'\[CASE_S_[A-Z_]+\] = "([a-z-]+)"', case_c):
        check('status.' + st in en, 'a label for the case status ' + st)
    # no inline script or style, no handler attributes, no other origin in the markup
    for path in glob.glob(os.path.join(WWW, '*.html')):
        text = open(path, encoding='utf-8').read()
        name = os.path.basename(path)
        check(not re.search(r'<script(?![^>]*\bsrc=)', text), name + ': no inline <script>')
        check(not re.search(r'\sstyle=|<style', text), name + ': no inline style')
        check(not re.search(r'\son[a-z]+=', text), name + ': no on*= handler attributes')
        check(not re.search(r'(src|href)="(https?:)?//', text), name + ': nothing from another origin')
    for path in glob.glob(os.path.join(WWW, '*.js')):
        text = open(path, encoding='utf-8').read()
        check('innerHTML' not in text and 'insertAdjacentHTML' not in text and
              'document.write' not in text, os.path.basename(path) + ': no HTML built from strings')


# ---- the browser ------------------------------------------------------------------------

class Browser:
    """One headless Chromium with a throw-away profile (its own cookies)."""

    def __init__(self, name):
        self.name = name
        self.profile = tempfile.mkdtemp(prefix='rg-chromium-')
        o = webdriver.ChromeOptions()
        o.binary_location = '/usr/bin/chromium'
        for a in ('--headless=new', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage',
                  '--user-data-dir=' + self.profile, '--window-size=1280,1000',
                  '--lang=en-US', '--no-first-run', '--disable-extensions',
                  '--disable-background-networking', '--disable-component-update',
                  '--disable-default-apps', '--disable-sync'):
            o.add_argument(a)
        o.set_capability('goog:loggingPrefs', {'browser': 'ALL'})
        self.d = webdriver.Chrome(service=Service('/usr/bin/chromedriver'), options=o)
        self.d.set_page_load_timeout(DEADLINE)
        self.d.set_script_timeout(DEADLINE)

    def quit(self):
        try:
            self.d.quit()
        finally:
            shutil.rmtree(self.profile, ignore_errors=True)

    def wait(self, cond, what, timeout=DEADLINE, poll=0.1):
        try:
            # the pages re-render what they load: an element may be replaced while looked at
            return WebDriverWait(self.d, timeout, poll_frequency=poll,
                                 ignored_exceptions=[StaleElementReferenceException]).until(cond)
        except TimeoutException:
            raise AssertionError('%s: not within %s s (at %s)' % (what, timeout, self.d.current_url))

    def open(self, url, loaded=True):
        """Opens url; with loaded, waits until the page's script has rendered its data."""
        self.d.get(url)
        if loaded:
            self.wait(lambda d: d.execute_script(
                "return !document.body.classList.contains('loading') && "
                "(document.body.dataset.loaded === '1' || document.body.dataset.page === 'login' "
                "|| document.body.dataset.page === 'log' || !document.getElementById('error').hidden)"),
                'page %s rendered' % url)

    def css(self, sel):
        return self.d.find_element(By.CSS_SELECTOR, sel)

    def click(self, sel):
        """Clicks sel once it is displayed and enabled (a page may still be showing
        itself: a slow machine, or the sanitizer build, lets a test find it sooner)."""
        self.wait(EC.element_to_be_clickable((By.CSS_SELECTOR, sel)),
                  'clickable: ' + sel).click()

    def csss(self, sel):
        return self.d.find_elements(By.CSS_SELECTOR, sel)

    def console_errors(self):
        """The browser console's errors since the last call (SEVERE entries)."""
        return [e for e in self.d.get_log('browser') if e.get('level') == 'SEVERE']

    def foreign(self):
        """URLs this page loaded or points to that are not of its origin."""
        return self.d.execute_script("""
            var o = location.origin, bad = [];
            performance.getEntriesByType('resource').forEach(function (e) {
                if (e.name.indexOf(o + '/') !== 0) bad.push(e.name); });
            document.querySelectorAll('[src],[href],[action]').forEach(function (n) {
                var u = n.src || n.href || n.action;
                if (typeof u === 'string' && u && u.indexOf(o + '/') !== 0 && u.indexOf('data:') !== 0)
                    bad.push(u); });
            return bad;""")

    def fetch(self, method, path, body=None, csrf=True):
        """fetch() from the page: {status, body}. csrf: send the session's X-CSRF-Token."""
        return self.d.execute_async_script("""
            var done = arguments[arguments.length - 1];
            var h = {'Content-Type': 'application/json'};
            if (arguments[3] && window.RG && RG.me) h['X-CSRF-Token'] = RG.me.csrf;
            fetch(arguments[1], {method: arguments[0], credentials: 'same-origin', headers: h,
                  body: arguments[2] === null ? undefined : JSON.stringify(arguments[2])})
              .then(function (r) { return r.text().then(function (t) { done({status: r.status, body: t}); }); },
                    function (e) { done({status: -1, body: String(e)}); });""",
            method, path, body, csrf)

    def shot(self, name):
        folder = os.environ.get('ROGATORY_SCREENSHOTS')
        if folder:
            os.makedirs(folder, exist_ok=True)
            # the whole page: as tall as its content
            h = self.d.execute_script('return Math.min(document.documentElement.scrollHeight, 2400)')
            self.d.set_window_size(1280, max(800, h))
            self.d.save_screenshot(os.path.join(folder, name))
            self.d.set_window_size(1280, 1000)
            log('  screenshot ' + os.path.join(folder, name))


# ---- the host side: rogatoryctl -------------------------------------------------------

def ctl(args, sock, *argv):
    r = subprocess.run([args.ctl, '-s', sock] + list(argv), capture_output=True, text=True,
                       timeout=60)
    if r.returncode != 0:
        raise AssertionError('rogatoryctl %s: exit %d: %s%s' % (' '.join(argv), r.returncode,
                                                                r.stdout, r.stderr))
    return r.stdout


def login_link(args, sock, url, name, role):
    out = ctl(args, sock, 'console', 'login', name, '--role', role, '--url', url)
    m = re.search(r'(https?://\S+/login\?token=[0-9a-f]{32})', out)
    if not m:
        raise AssertionError('no login link in: ' + out)
    return m.group(1)


def login(b, args, sock, url, name, role):
    link = login_link(args, sock, url, name, role)
    b.d.delete_all_cookies()
    b.open(link)
    # the link shows a form; its button POSTs the token (a GET redeems nothing)
    b.wait(lambda d: d.find_elements(By.CSS_SELECTOR, '#signin button'), 'the sign-in button')
    b.click('#signin button')
    b.wait(lambda d: d.execute_script("return document.body.dataset.page") == 'index',
           'the login link leads to the overview')
    b.wait(lambda d: d.find_element(By.ID, 'me-name').text == name, 'the header names ' + name)
    return link


def last_id(out):
    ids = re.findall(r'[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}', out)
    if not ids:
        raise AssertionError('no message id in: ' + out)
    return ids[-1]


# ---- groups -----------------------------------------------------------------------------

def group_login(args):
    log('== login, sessions, roles, CSRF')
    b = Browser('a')
    try:
        # no cookie: every page sends to the login page
        b.d.get(args.url_a + '/messages')
        b.wait(EC.url_contains('/login'), 'without a cookie /messages goes to /login')
        b.wait(lambda d: d.execute_script("return document.body.dataset.page") == 'login', 'login page')
        check(not b.d.find_elements(By.ID, 'refused'),
              'the login page (no token) says nothing is refused')
        r = b.fetch('GET', '/api/status', None, False)
        check(r['status'] == 401, 'without a cookie /api/status answers 401 (got %s)' % r['status'])

        # a link works once
        link = login(b, args, args.sock_a, args.url_a, 'alice', 'officer')
        check(True, 'the officer login link opened the overview')
        check(b.css('#me-role').text == 'officer', 'the header shows the role officer')
        check(b.css('#nav a[href="/draft"]').is_displayed(), 'an officer sees "New request"')
        b.console_errors()
        b.d.delete_all_cookies()
        b.d.get(link)
        b.wait(lambda d: d.find_elements(By.CSS_SELECTOR, '#signin button'),
               'the used link shows the sign-in button again')
        check(b.d.get_cookies() == [], 'opening the link (GET) set no cookie')
        b.click('#signin button')
        b.wait(lambda d: d.execute_script("return document.body && document.body.dataset.page") == 'login'
               and d.find_elements(By.ID, 'refused'),
               'the used link shows the login page')
        b.wait(lambda d: d.find_element(By.ID, 'refused').is_displayed(),
               'the login page says the link is refused')
        check(True, 'the same login link a second time is refused')
        b.d.get(args.url_a + '/')
        b.wait(EC.url_contains('/login'), 'no session after the refused link')
        check(True, 'the refused link started no session')
        b.console_errors()   # the 403 of the refused link and the 401s above are expected

        # a viewer cannot send
        login(b, args, args.sock_a, args.url_a, 'victor', 'viewer')
        check(not b.css('#nav a[href="/draft"]').is_displayed(), 'a viewer has no "New request"')
        r = b.fetch('POST', '/api/send', {'to': args.id_b, 'document': {'kind': 'other', 'subject': 'x'},
                                          'attachments': []})
        check(r['status'] == 403 and 'forbidden' in r['body'],
              'a viewer\'s POST /api/send is 403 forbidden (got %s %s)' % (r['status'], r['body'][:200]))
        b.open(args.url_a + '/peers')
        check(not b.csss('button[data-op]'), 'a viewer sees no pause/resume/connect buttons')

        # CSRF: the session's own cookie without the token
        login(b, args, args.sock_a, args.url_a, 'olga', 'operator')
        r = b.fetch('POST', '/api/pause', {'peer': args.id_b}, csrf=False)
        check(r['status'] == 403, 'a POST without X-CSRF-Token is 403 (got %s %s)' % (r['status'], r['body'][:200]))
        r = b.fetch('GET', '/api/peers', None, False)
        paused = [p for p in json.loads(r['body']) if p['id'] == args.id_b][0]['paused']
        check(not paused, 'and it changed nothing (%s not paused)' % args.id_b)
        r = b.fetch('POST', '/api/pause', {'peer': args.id_b}, csrf=True)
        check(r['status'] == 200, 'with the token the operator\'s pause is done (got %s %s)'
              % (r['status'], r['body'][:200]))
        b.fetch('POST', '/api/resume', {'peer': args.id_b}, csrf=True)
        # logout ends the session
        b.open(args.url_a + '/')
        b.click('#logout')
        b.wait(EC.url_contains('/login'), 'sign out leads to the login page')
        r = b.fetch('GET', '/api/me', None, False)
        check(r['status'] == 401, 'after sign out /api/me is 401 (got %s)' % r['status'])
        # revoked on the host: the page's next request leads to the login page
        login(b, args, args.sock_a, args.url_a, 'rita', 'viewer')
        b.open(args.url_a + '/messages')
        ctl(args, args.sock_a, 'console', 'revoke', 'rita')
        b.click('#filters button[type=submit]')
        b.wait(EC.url_contains('/login'), 'after rogatoryctl console revoke the page goes to /login')
        check(True, 'a session revoked with rogatoryctl console revoke ends in the browser at its next request')
        b.console_errors()
    finally:
        b.quit()


def group_live(args):
    log('== the live log')
    b = Browser('a')
    try:
        login(b, args, args.sock_a, args.url_a, 'alice', 'viewer')
        b.open(args.url_a + '/log')
        b.wait(lambda d: d.execute_script("return document.body.dataset.live") == '1',
               'the event stream is open')
        t0 = time.monotonic()
        out = ctl(args, args.sock_a, 'send', '--to', args.id_b, '--kind', 'other', '--subject',
                  'live log test')
        mid = last_id(out)
        row = 'tr[data-id="%s"][data-event="queued"]' % mid
        b.wait(EC.presence_of_element_located((By.CSS_SELECTOR, row)),
               'the queued event of ' + mid + ' in the live log', timeout=2)
        check(True, 'a message sent with rogatoryctl appears in the live log within 2 s '
              '(%.2f s, without reload)' % (time.monotonic() - t0))
        b.wait(EC.presence_of_element_located((By.CSS_SELECTOR, 'tr[data-id="%s"][data-event="delivered"]' % mid)),
               'its delivered event', timeout=10)
        check(True, 'its delivery follows in the same page')
        check(not b.console_errors(), 'no error in the browser console')
    finally:
        b.quit()


def fill(b, path, value):
    sel = '[data-path="%s"] > ' % path
    els = b.csss(sel + 'select')
    if els:
        Select(els[0]).select_by_value(value)
        return
    el = b.css(sel + 'input, ' + sel + 'textarea')
    el.clear()
    el.send_keys(value)


MLA = [
    ('subject', 'Bank records of Example Trading Ltd'),
    ('reference', 'ACC/2026/900'),
    ('legal_basis', 'UNCAC art. 46'),
    ('proceedings.nature', 'criminal'),
    ('proceedings.subject', 'Bribery in the award of a port contract'),
    ('proceedings.authority.name', 'Anti-Corruption Commission'),
    ('proceedings.authority.function', 'investigating authority'),
    ('facts', 'Payments of EUR 800,000 to two officials through a bank in Paris.'),
    ('assistance[0].type', 'documents-records'),
    ('assistance[0].details', 'Certified statements of the account for 2020 and 2021.'),
    ('offences[0].name', 'bribery of national public officials'),
    ('offences[0].law', 'Penal Code s. 161'),
]


def draft_request(b, args, url, to):
    """Drafts the MLA request with `purpose` missing, checks, fixes it, attaches a file and
    sends; returns the message id once the page shows it delivered."""
    b.open(url + '/draft?kind=mla&to=' + to)
    b.wait(EC.presence_of_element_located((By.CSS_SELECTOR, '[data-path="purpose"]')), 'the MLA form')
    for p, v in MLA:
        fill(b, p, v)
    b.click('#d-validate')
    slot = '[data-path="purpose"] > .problem'
    b.wait(lambda d: d.find_element(By.CSS_SELECTOR, slot).is_displayed(),
           'the problem of the missing element at its field')
    text = b.css(slot).text
    check('required' in text, 'the missing required element "purpose" is shown at its field: "%s"' % text)
    others = [e for e in b.csss('.field > .problem') if e.is_displayed()]
    check(len(others) == 1, 'and only there (%d problems shown)' % len(others))
    fill(b, 'purpose', 'Evidence of the flow of the bribes.')
    b.click('#d-validate')
    b.wait(lambda d: d.find_element(By.ID, 'd-valid').is_displayed(), 'the fixed document is valid')
    check(not [e for e in b.csss('.field > .problem') if e.is_displayed()], 'fixed: no problem left')
    b.css('#d-files').send_keys(args.file)
    b.wait(lambda d: len(d.find_elements(By.CSS_SELECTOR, '#d-file-list li')) == 1, 'the file listed')
    b.click('#d-send')
    b.wait(lambda d: d.find_element(By.ID, 'sent-panel').is_displayed(), 'sent', timeout=60)
    mid = b.css('#sent-link').text
    prog = b.css('#d-progress')
    check(prog.get_attribute('value') == prog.get_attribute('max'),
          'the progress bar reached the end (%s of %s)' % (prog.get_attribute('value'), prog.get_attribute('max')))
    b.wait(lambda d: d.find_element(By.ID, 'sent-state').get_attribute('data-state') == 'delivered',
           'the sent request shows delivered', timeout=30)
    check(True, 'the request %s was sent with its attachment and shows delivered' % mid)
    return mid


def group_case(args):
    log('== draft, send, acknowledge at the other side')
    a = Browser('a')
    bb = Browser('b')
    try:
        login(a, args, args.sock_a, args.url_a, 'alice', 'officer')
        mid = draft_request(a, args, args.url_a, args.id_b)
        check(not a.console_errors(), 'no error in the browser console while drafting')

        login(bb, args, args.sock_b, args.url_b, 'bob', 'officer')
        bb.open(args.url_b + '/cases?view=incoming')
        row = 'tr[data-id="%s"]' % mid

        def incoming(d):
            if d.find_elements(By.CSS_SELECTOR, row):
                return True
            d.find_element(By.CSS_SELECTOR, '#filters button[type=submit]').click()
            return False
        bb.wait(incoming, 'the request among the incoming cases of ' + args.id_b, timeout=20, poll=0.5)
        check(bb.css(row).get_attribute('data-status') == 'requested',
              'on the other console it is an incoming case, requested')
        bb.click(row + ' a')
        bb.wait(lambda d: d.execute_script("return document.body.dataset.loaded") == '1', 'the case page')
        opts = [o.get_attribute('value') for o in bb.csss('#u-status option')]
        check(opts and opts[0] == 'acknowledged' and 'executed' not in opts,
              'the requested side may acknowledge, not execute yet (offered: %s)' % opts)
        Select(bb.css('#u-status')).select_by_value('acknowledged')
        bb.css('#u-reference').send_keys('BEPI/2026/900')
        bb.click('#u-send')
        bb.wait(lambda d: d.find_element(By.CSS_SELECTOR, '#case-status .badge').get_attribute('data-value')
                == 'acknowledged', 'the case acknowledged at ' + args.id_b)
        check(True, 'acknowledged on the other console')
        check(not bb.console_errors(), 'no error in the other browser\'s console')

        a.open(args.url_a + '/case?id=' + mid)

        def acked(d):
            v = d.execute_script("var b = document.querySelector('#case-status .badge');"
                                 "return b ? b.dataset.value : null")
            if v == 'acknowledged':
                return True
            d.refresh()
            return False
        a.wait(acked, 'the first side sees acknowledged', timeout=20, poll=0.5)
        check(True, 'the first side sees the case acknowledged')
        a.wait(lambda d: d.find_elements(By.CSS_SELECTOR, '#history li[data-status="acknowledged"]'),
               'the acknowledgement in the history')
        check('BEPI/2026/900' in a.css('#summary').text, 'with the requested side\'s reference')

        # executed, with the results attached (an update's upload), seen by the first side
        Select(bb.css('#u-status')).select_by_value('executed')
        bb.css('#u-note').send_keys('Certified statements attached.')
        bb.css('#u-files').send_keys(args.file)
        bb.click('#u-send')
        bb.wait(lambda d: d.execute_script("var b = document.querySelector('#case-status .badge');"
                                           " return b && b.dataset.value") == 'executed', 'executed at ' + args.id_b)
        check(True, 'the other side sends executed with an attachment')
        name = os.path.basename(args.file)

        def executed(d):
            if d.find_elements(By.CSS_SELECTOR, '#history li[data-status="executed"]'):
                return True
            d.refresh()
            return False
        a.wait(executed, 'the first side sees executed', timeout=20, poll=0.5)
        li = a.css('#history li[data-status="executed"]').text
        check(name in li and 'Certified statements attached.' in li,
              'the first side sees executed with its note and the attachment %s' % name)
        a.shot('console-case.png')
        check(not a.console_errors(), 'no error in the browser console')
    finally:
        a.quit()
        bb.quit()


def untranslated(b):
    """data-i18n elements whose text is still their key, and English left on a French page."""
    return b.d.execute_script("""
        var bad = [];
        document.querySelectorAll('[data-i18n]').forEach(function (n) {
            if (n.textContent === n.getAttribute('data-i18n')) bad.push(n.getAttribute('data-i18n')); });
        return bad;""")


def page_urls(base, ids):
    urls = []
    for p in PAGES:
        u = base + p
        if p == '/message' and ids.get('message'):
            u += '?id=' + ids['message']
        if p == '/case' and ids.get('case'):
            u += '?id=' + ids['case']
        urls.append(u)
    return urls


FRENCH = {'index': "Vue d'ensemble", 'messages': 'Messages', 'message': 'Message', 'log': "Journal d'acheminement",
          'peers': 'Autorités et liaisons', 'directory': 'Annuaire', 'cases': 'Dossiers', 'case': 'Dossier',
          'draft': 'Rédiger une demande', 'stats': 'Statistiques', 'login': 'Se connecter avec un lien de connexion'}


def every_page(b, base, ids, shots):
    """Every page in English then French: no foreign origin, no console error, French."""
    b.console_errors()
    for lang in ('en', 'fr'):
        for u in page_urls(base, ids):
            b.open(u + ('&' if '?' in u else '?') + 'lang=' + lang)
            page = b.d.execute_script('return document.body.dataset.page')
            if page == 'log':
                b.wait(lambda d: d.execute_script("return document.body.dataset.live") == '1', 'the live log')
            err = b.d.execute_script("var e = document.getElementById('error'); return e && !e.hidden ? e.textContent : ''")
            check(not err, '%s (%s): no error box (%s)' % (u, lang, err))
            f = b.foreign()
            check(not f, '%s (%s): nothing from another origin (%s)' % (u, lang, f[:5]))
            errs = b.console_errors()
            check(not errs, '%s (%s): no error in the browser console (%s)' % (u, lang, [e['message'] for e in errs][:3]))
            if lang == 'fr':
                check(b.d.execute_script('return document.documentElement.lang') == 'fr',
                      '%s: <html lang="fr">' % u)
                h = b.css('h1, h2').text
                check(FRENCH.get(page, '') in b.d.find_element(By.TAG_NAME, 'main').text,
                      '%s renders in French (heading "%s")' % (u, h))
                left = untranslated(b)
                check(not left, '%s: every data-i18n element translated (%s)' % (u, left[:5]))
            if shots and lang == 'en' and page == 'index':
                b.shot('console-overview.png')
    # the language stays (cookie rg_lang) without ?lang=
    b.open(base + '/peers')
    check(b.d.execute_script('return document.documentElement.lang') == 'fr',
          'the language chosen with ?lang=fr is kept by the rg_lang cookie')
    b.open(base + '/peers?lang=en')


def group_pages(args):
    log('== every page: same origin, no console error, French; screenshots')
    b = Browser('a')
    try:
        # the demo's request (its respond-by date made 90 days from now, as demo.sh does)
        with open(os.path.join(TOP, 'configs', 'demo', 'mla-request.json'), encoding='utf-8') as f:
            d = json.load(f)
        d['respond_by'] = time.strftime('%Y-%m-%d', time.gmtime(time.time() + 90 * 86400))
        doc = os.path.join(os.path.dirname(args.file), 'mla-request.json')
        with open(doc, 'w', encoding='utf-8') as f:
            json.dump(d, f)
        out = ctl(args, args.sock_a, 'send', '--to', args.id_b, '--document', doc, '--attach', args.file)
        mid = last_id(out)
        ctl(args, args.sock_a, 'send', '--to', args.id_b, '--kind', 'other', '--subject', 'a note')
        if args.id_down:
            # waiting in the queue for an authority that is down
            for i in range(3):
                ctl(args, args.sock_a, 'send', '--to', args.id_down, '--kind', 'other', '--subject',
                    'note %d for an authority that is down' % (i + 1))
        login(b, args, args.sock_a, args.url_a, 'olga', 'operator')
        b.open(args.url_a + '/case?id=' + mid)

        def delivered(d):
            if 'delivered' in d.find_element(By.ID, 'history').text:
                return True
            d.refresh()
            return False
        b.wait(delivered, 'the request delivered', timeout=20, poll=0.5)
        # the other side acknowledges it, so the case has a history to show
        ctl(args, args.sock_b, 'update', mid, '--status', 'acknowledged', '--reference', 'BEPI/2026/4471')
        every_page(b, args.url_a, {'message': mid, 'case': mid}, True)
        # the drafting form of every kind, from its template
        for kind in ('mla', 'extradition', 'provisional-arrest', 'asset-recovery',
                     'service-of-documents', 'other'):
            b.open(args.url_a + '/draft?kind=' + kind)
            n = len(b.csss('#fields .field'))
            req = len(b.csss('#fields .field.required'))
            check(n > 3 and req > 0 and not b.console_errors(),
                  'the %s form: %d fields, %d required, no console error' % (kind, n, req))
    finally:
        b.quit()


def rows(b, sel='table.messages tbody tr'):
    return b.d.execute_script(
        "return Array.prototype.map.call(document.querySelectorAll(arguments[0]),"
        " function (r) { return [r.dataset.id, r.dataset.state]; })", sel)


def group_operate(args):
    log('== messages (filters, paging, timeline, receipt, verify, export, retry/cancel by role), links, statistics')
    b = Browser('a')
    try:
        tmp = os.path.dirname(args.file)
        batch = os.path.join(tmp, 'batch.jsonl')
        with open(batch, 'w') as f:
            for i in range(60):
                f.write(json.dumps({'to': args.id_b, 'kind': 'other', 'subject': 'batch note %d' % i}) + '\n')
        ids = ctl(args, args.sock_a, 'send', '--batch', batch).split()
        check(len(ids) == 60, '60 notes sent with rogatoryctl send --batch')
        down = [last_id(ctl(args, args.sock_a, 'send', '--to', args.id_down, '--kind', 'other',
                            '--subject', 'for an authority that is down %d' % i)) for i in range(2)]
        login(b, args, args.sock_a, args.url_a, 'olga', 'operator')

        # paging with the daemon's cursor, filtered by authority and direction
        b.open(args.url_a + '/messages?direction=out&peer=' + args.id_b)
        first = rows(b)
        check(len(first) == 50, 'the first page holds 50 messages (%d)' % len(first))
        check(b.css('#next').is_enabled() and not b.css('#prev').is_enabled(), 'Older enabled, Newer not')
        b.click('#next')
        b.wait(lambda d: rows(b) and rows(b)[0][0] != first[0][0], 'the second page')
        second = rows(b)
        check(len(second) == 10 and not set(x[0] for x in first) & set(x[0] for x in second),
              'the second page holds the 10 others, none of the first (%d)' % len(second))
        check(set(x[0] for x in first + second) == set(ids), 'the two pages are exactly the 60 sent')
        check(not b.css('#next').is_enabled(), 'no third page')
        b.click('#prev')
        b.wait(lambda d: rows(b) and rows(b)[0][0] == first[0][0], 'back to the first page')
        check(True, 'Newer goes back to the first page')

        # filters: state, the start of an id
        b.open(args.url_a + '/messages')
        Select(b.css('#f-direction')).select_by_value('out')
        Select(b.css('#f-state')).select_by_value('queued')
        b.click('#filters button[type=submit]')
        b.wait(lambda d: sorted(x[0] for x in rows(b)) == sorted(down), 'only the two queued messages')
        check('state=queued' in b.d.current_url, 'the filters are kept in the address')
        Select(b.css('#f-state')).select_by_value('')
        b.css('#f-id').send_keys(ids[7][:13])
        b.click('#filters button[type=submit]')
        b.wait(lambda d: [x[0] for x in rows(b)] == [ids[7]], 'the message whose id starts so')
        check(True, 'the id filter finds one message by the start of its id')

        # one delivered message: timeline, receipt, verify, export
        b.wait(lambda d: d.find_element(By.CSS_SELECTOR, 'table.messages tbody tr a').is_displayed(), 'its link')
        mid = ids[7]

        def delivered(d):
            if d.execute_script("var s = document.querySelector('#state .badge'); return s && s.dataset.value") == 'delivered':
                return True
            d.refresh()
            return False
        b.open(args.url_a + '/message?id=' + mid)
        b.wait(delivered, 'the message delivered', timeout=20, poll=0.5)
        evs = b.d.execute_script("return Array.prototype.map.call(document.querySelectorAll('#timeline li'),"
                                 " function (l) { return l.dataset.event; })")
        check(evs[:1] == ['queued'] and 'sent' in evs and 'delivered' in evs,
              'the timeline has every event: %s' % evs)
        check('sha-256' in b.css('#receipt').text.lower(), 'the receipt is shown with its SHA-256')
        check(b.css('#verify-result').get_attribute('class') == 'ok', 'verify: valid')
        check(not b.css('#retry').is_displayed() and not b.css('#cancel').is_displayed(),
              'no retry or cancel for a delivered message')
        b.click('#export')
        b.wait(lambda d: d.find_elements(By.CSS_SELECTOR, '#export-files a[download]'), 'the bundle\'s files')
        href = b.css('#export-files a[download]').get_attribute('href')
        r = b.fetch('GET', href[href.index('/api/'):], None, False)
        check(r['status'] == 200 and len(r['body']) > 0, 'a file of the evidence bundle downloads (%s, %d bytes)'
              % (r['status'], len(r['body'])))

        # retry and cancel: an operator's, on a message still queued
        b.open(args.url_a + '/message?id=' + down[0])
        check(b.css('#retry').is_displayed() and b.css('#cancel').is_displayed(),
              'an operator sees retry and cancel on a queued message')
        b.click('#retry')
        b.wait(lambda d: d.find_element(By.ID, 'notice').is_displayed(), 'the retry done')
        b.click('#cancel')
        b.wait(EC.alert_is_present(), 'the confirmation')
        b.d.switch_to.alert.accept()
        b.wait(lambda d: d.execute_script("var s = document.querySelector('#state .badge');"
                                          " return s && s.dataset.value") == 'cancelled', 'cancelled')
        check(True, 'cancel (confirmed) makes it cancelled')
        check(not b.console_errors(), 'no error in the browser console')

        # links: pause and resume with the buttons
        b.open(args.url_a + '/peers')
        b.click('button[data-op="pause"][data-peer="%s"]' % args.id_b)
        b.wait(lambda d: d.find_elements(By.CSS_SELECTOR, 'button[data-op="resume"][data-peer="%s"]' % args.id_b),
               'paused')
        out = ctl(args, args.sock_a, '--json', 'peers')
        check([p for p in json.loads(out) if p['id'] == args.id_b][0]['paused'], 'the daemon holds %s paused' % args.id_b)
        b.click('button[data-op="resume"][data-peer="%s"]' % args.id_b)
        b.wait(lambda d: d.find_elements(By.CSS_SELECTOR, 'button[data-op="pause"][data-peer="%s"]' % args.id_b),
               'resumed')
        check(True, 'pause and resume from the links page')

        # statistics drawn as SVG
        b.open(args.url_a + '/stats')
        n = len(b.csss('svg.chart rect'))
        check(n > 0, 'the statistics are drawn as SVG bars (%d)' % n)

        # a viewer: the same message without the operator's actions
        login(b, args, args.sock_a, args.url_a, 'victor', 'viewer')
        b.open(args.url_a + '/message?id=' + down[1])
        check(not b.css('#retry').is_displayed() and not b.css('#cancel').is_displayed()
              and b.css('#export').is_displayed(), 'a viewer sees export but not retry or cancel')
        r = b.fetch('POST', '/api/cancel', {'id': down[1]})
        check(r['status'] == 403, 'and the console refuses a viewer\'s cancel (%s)' % r['status'])
        b.console_errors()   # that 403 is logged by the browser, as expected
        b.open(args.url_a + '/peers')
        check(not b.csss('button[data-op]'), 'a viewer has no pause/resume/connect buttons')
        check(not b.console_errors(), 'no error in the browser console')
    finally:
        b.quit()


def group_big(args):
    log('== a 100 MiB attachment through the draft page')
    b = Browser('a')
    try:
        big = os.path.join(os.path.dirname(args.file), 'statements.bin')
        with open(big, 'wb') as f:
            block = os.urandom(1 << 20)
            for _ in range(100):
                f.write(block)
        login(b, args, args.sock_a, args.url_a, 'alice', 'officer')
        b.open(args.url_a + '/draft?kind=mla&to=' + args.id_b)
        b.wait(EC.presence_of_element_located((By.CSS_SELECTOR, '[data-path="purpose"]')), 'the MLA form')
        for p, v in MLA:
            fill(b, p, v)
        fill(b, 'purpose', 'Evidence of the flow of the bribes.')
        b.css('#d-files').send_keys(big)
        t0 = time.monotonic()
        b.click('#d-send')
        b.wait(lambda d: d.find_element(By.ID, 'upload-panel').is_displayed(), 'the progress bar')
        seen = set()

        def progressed(d):
            v = d.find_element(By.ID, 'd-progress').get_attribute('value')
            seen.add(v)
            return d.find_element(By.ID, 'sent-panel').is_displayed()
        b.wait(progressed, 'the 100 MiB upload and send', timeout=100, poll=0.2)
        dt = time.monotonic() - t0
        prog = b.css('#d-progress')
        check(prog.get_attribute('value') == prog.get_attribute('max') == str(100 << 20),
              'the progress bar went to 104857600 (%s)' % prog.get_attribute('value'))
        check(len(seen) > 2, 'and moved on the way (%d values seen)' % len(seen))
        b.wait(lambda d: d.find_element(By.ID, 'sent-state').get_attribute('data-state') == 'delivered',
               'delivered', timeout=60)
        check(True, 'a 100 MiB attachment uploaded in 256 KiB chunks and delivered (%.1f s to send)' % dt)
        check(not b.console_errors(), 'no error in the browser console')
    finally:
        b.quit()


# ---- against the stub ------------------------------------------------------------------

def group_stub(args):
    log('== the pages against stub_console.py')
    p = subprocess.Popen(['/usr/bin/python3', os.path.join(HERE, 'stub_console.py'), '--port', '0'],
                         stdout=subprocess.PIPE, text=True)
    b = None
    try:
        line = p.stdout.readline()
        base = re.search(r'(http://\S+?)/?$', line.strip()).group(1)
        b = Browser('stub')
        every_page(b, base, {'message': 'b972c6ad-7bc0-447d-b1c3-c58ea44d6404',
                             'case': 'b972c6ad-7bc0-447d-b1c3-c58ea44d6404'}, True)
        # right-to-left: the layout mirrors with the catalog's _dir (logical properties)
        b.open(base + '/?lang=en')
        x_ltr = b.css('.brand').rect['x']
        b.d.execute_script("document.documentElement.dir = 'rtl'")
        x_rtl = b.css('.brand').rect['x']
        w = b.d.execute_script('return document.documentElement.clientWidth')
        check(x_ltr < w / 2 < x_rtl, 'with dir=rtl the header mirrors (brand at x %d, then %d, of %d)'
              % (x_ltr, x_rtl, w))
        b.open(base + '/draft?kind=mla&to=FR-MJ&lang=en')
        b.wait(EC.presence_of_element_located((By.CSS_SELECTOR, '[data-path="purpose"]')), 'the MLA form')
        for pth, v in MLA:
            fill(b, pth, v)
        b.click('#d-validate')
        b.wait(lambda d: d.find_element(By.CSS_SELECTOR, '[data-path="purpose"] > .problem').is_displayed(),
               'the stub\'s problem at its field')
        check(True, 'a problem is shown at the field its path names')
        fill(b, 'purpose', 'x')
        b.css('#d-files').send_keys(args.file)
        b.click('#d-send')
        b.wait(lambda d: d.find_element(By.ID, 'sent-panel').is_displayed(), 'sent')
        prog = b.css('#d-progress')
        check(prog.get_attribute('value') == prog.get_attribute('max'), 'the upload went to the end')
        check(not b.console_errors(), 'no console error while drafting')
    finally:
        if b:
            b.quit()
        p.terminate()
        p.wait()


GROUPS = {'catalog': group_catalog, 'login': group_login, 'live': group_live,
          'case': group_case, 'pages': group_pages, 'operate': group_operate, 'big': group_big,
          'stub': group_stub}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--group', default='catalog,login,live,case,operate,pages')
    ap.add_argument('--stub', action='store_true')
    ap.add_argument('--url-a')
    ap.add_argument('--url-b')
    ap.add_argument('--ctl')
    ap.add_argument('--sock-a')
    ap.add_argument('--sock-b')
    ap.add_argument('--id-a')
    ap.add_argument('--id-b')
    ap.add_argument('--id-down', help='an authority of the directory that is not running')
    ap.add_argument('--file', help='a file to attach (default: one made here, 600 KiB)')
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix='rg-browser-')
    try:
        if not args.file:
            args.file = os.path.join(tmp, 'court-order.pdf')
            with open(args.file, 'wb') as f:
                f.write(b'%PDF-1.4\n' + os.urandom(600 * 1024))
        groups = ['catalog', 'stub'] if args.stub else args.group.split(',')
        for g in groups:
            try:
                GROUPS[g](args)
            except (AssertionError, WebDriverException, subprocess.SubprocessError, OSError) as e:
                FAILURES.append('%s: %s' % (g, e))
                log('  FAIL %s: %s' % (g, e))
                traceback.print_exc()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if FAILURES:
        log('%d check(s) failed:' % len(FAILURES))
        for f in FAILURES:
            log('  - ' + f)
        return 1
    log('all checks passed')
    return 0


if __name__ == '__main__':
    sys.exit(main())
