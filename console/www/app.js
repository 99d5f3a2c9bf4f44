/*
 * app.js: what every page of the console shares: the string catalog (i18n/LANG.json,
 * language from ?lang=, the rg_lang cookie, the browser, the console's default), the
 * JSON API (the CSRF token on every POST, a 401 sends the page to /login), the DOM built
 * with textContent only (never markup from strings: everything shown may come from a peer), the
 * header and its navigation, and the small formatters the pages use.
 * It must never load anything from another origin, nor put data into markup.
 */
'use strict';

(function () {
	var RG = {};
	window.RG = RG;

	var LANGS = ['en', 'fr'];
	var ROLES = ['viewer', 'officer', 'operator'];
	var NAV = [
		['/', 'nav.overview'], ['/messages', 'nav.messages'], ['/log', 'nav.log'],
		['/peers', 'nav.peers'], ['/directory', 'nav.directory'], ['/cases', 'nav.cases'],
		['/draft', 'nav.draft', 'officer'], ['/stats', 'nav.stats'],
	];
	var catalog = {};

	RG.params = new URLSearchParams(window.location.search);

	/* ---- the catalog ---- */

	function cookie(name) {
		var parts = document.cookie ? document.cookie.split('; ') : [];
		for (var i = 0; i < parts.length; i++) {
			var eq = parts[i].indexOf('=');
			if (parts[i].slice(0, eq) === name)
				return decodeURIComponent(parts[i].slice(eq + 1));
		}
		return '';
	}

	/* ?lang= (remembered in rg_lang), the cookie, the browser's languages; '' if none of
	 * ours (the console's default then). */
	function pickLanguage() {
		var asked = RG.params.get('lang');
		if (asked && LANGS.indexOf(asked) >= 0) {
			document.cookie = 'rg_lang=' + asked + '; Path=/; Max-Age=31536000; SameSite=Strict';
			return asked;
		}
		var c = cookie('rg_lang');
		if (LANGS.indexOf(c) >= 0)
			return c;
		var nav = navigator.languages || [navigator.language || ''];
		for (var i = 0; i < nav.length; i++) {
			var base = String(nav[i]).toLowerCase().split('-')[0];
			if (LANGS.indexOf(base) >= 0)
				return base;
		}
		return '';
	}

	/* The string of key with {name} replaced from vars; the key itself when missing
	 * (the catalog test keeps that from happening for the keys the pages name). */
	RG.t = function (key, vars) {
		var s = Object.prototype.hasOwnProperty.call(catalog, key) ? catalog[key] : key;
		if (vars)
			s = s.replace(/\{([a-z_]+)\}/g, function (m, k) {
				return vars[k] === undefined || vars[k] === null ? m : String(vars[k]);
			});
		return s;
	};
	/* A value's label (state.queued, kind.mla, ...) or the value itself. */
	RG.tv = function (prefix, value) {
		if (value === null || value === undefined || value === '')
			return '';
		var key = prefix + '.' + value;
		return Object.prototype.hasOwnProperty.call(catalog, key) ? catalog[key] : String(value);
	};
	RG.has = function (key) {
		return Object.prototype.hasOwnProperty.call(catalog, key);
	};

	/* data-i18n (text), data-i18n-placeholder, -title, -aria-label, -alt under root. */
	RG.translate = function (root) {
		var attrs = [['data-i18n-placeholder', 'placeholder'], ['data-i18n-title', 'title'],
			['data-i18n-aria-label', 'aria-label'], ['data-i18n-alt', 'alt']];
		root.querySelectorAll('[data-i18n]').forEach(function (n) {
			n.textContent = RG.t(n.getAttribute('data-i18n'));
		});
		attrs.forEach(function (a) {
			root.querySelectorAll('[' + a[0] + ']').forEach(function (n) {
				n.setAttribute(a[1], RG.t(n.getAttribute(a[0])));
			});
		});
	};

	function loadCatalog(lang) {
		return fetch('/static/i18n/' + lang + '.json', {credentials: 'same-origin'})
			.then(function (r) {
				if (!r.ok)
					throw new Error('catalog ' + lang + ': HTTP ' + r.status);
				return r.json();
			});
	}

	/* ---- the DOM ---- */

	/* el('a', {href: x, class: 'c'}, 'text', node, [more]): text always as text nodes. */
	RG.el = function (tag, attrs) {
		var n = document.createElement(tag);
		if (attrs)
			Object.keys(attrs).forEach(function (k) {
				var v = attrs[k];
				if (v === null || v === undefined || v === false)
					return;
				if (k === 'text')
					n.textContent = v;
				else if (k === 'class')
					n.className = v;
				else if (k === 'dataset')
					Object.keys(v).forEach(function (d) { n.dataset[d] = v[d]; });
				else if (k.slice(0, 2) === 'on')
					n.addEventListener(k.slice(2), v);
				else if (v === true)
					n.setAttribute(k, '');
				else
					n.setAttribute(k, String(v));
			});
		for (var i = 2; i < arguments.length; i++)
			append(n, arguments[i]);
		return n;
	};
	function append(n, c) {
		if (c === null || c === undefined || c === false)
			return;
		if (Array.isArray(c))
			c.forEach(function (x) { append(n, x); });
		else if (typeof c === 'object' && c.nodeType)
			n.appendChild(c);
		else
			n.appendChild(document.createTextNode(String(c)));
	}
	RG.clear = function (n) {
		while (n.firstChild)
			n.removeChild(n.firstChild);
		return n;
	};
	RG.$ = function (id) {
		return document.getElementById(id);
	};

	/* A table: head keys, rows of cells (strings or nodes). */
	RG.table = function (headKeys, rows, cls) {
		var thead = RG.el('thead', null, RG.el('tr', null, headKeys.map(function (k) {
			return RG.el('th', {scope: 'col', text: RG.t(k)});
		})));
		var tbody = RG.el('tbody', null, rows.map(function (r) {
			return RG.el('tr', r.attrs || null, (r.cells || r).map(function (c) {
				return RG.el('td', null, c);
			}));
		}));
		return RG.el('table', {class: 'grid' + (cls ? ' ' + cls : '')}, thead, tbody);
	};
	/* A definition list of [key, value] pairs; values null/'' are skipped. */
	RG.dl = function (pairs) {
		var d = RG.el('dl', {class: 'kv'});
		pairs.forEach(function (p) {
			if (p[1] === null || p[1] === undefined || p[1] === '')
				return;
			d.appendChild(RG.el('dt', {text: RG.t(p[0])}));
			d.appendChild(RG.el('dd', null, p[1]));
		});
		return d;
	};
	/* A state as a coloured badge: prefix.value from the catalog, class b-value. */
	RG.badge = function (prefix, value) {
		if (value === null || value === undefined)
			return '';
		return RG.el('span', {class: 'badge b-' + String(value).replace(/[^a-z0-9-]/g, ''),
			dataset: {value: String(value)}, text: RG.tv(prefix, value)});
	};
	/* An event's state is a delivery state, or a case status for the case events. */
	RG.stateKind = function (e) {
		return /^case-|^due-soon$|^overdue$/.test(e.event || '') ? 'status' : 'state';
	};
	RG.empty = function (key) {
		return RG.el('p', {class: 'empty', text: RG.t(key || 'common.none')});
	};

	/* The page's error box: the daemon's code and text, never markup. */
	RG.showError = function (err, where) {
		var box = where || RG.$('error');
		if (!box)
			return;
		RG.clear(box);
		box.hidden = false;
		var code = err && err.code ? err.code : 'error';
		var key = 'error.' + code;
		box.appendChild(RG.el('strong', {text: RG.has(key) ? RG.t(key) : code}));
		if (err && err.text)
			box.appendChild(RG.el('span', {class: 'detail', text: ' ' + err.text}));
	};
	RG.hideError = function (where) {
		var box = where || RG.$('error');
		if (box) {
			RG.clear(box);
			box.hidden = true;
		}
	};
	/* A short-lived notice after an action. */
	RG.notice = function (text) {
		var box = RG.$('notice');
		if (!box)
			return;
		box.textContent = text;
		box.hidden = false;
	};

	/* ---- formatting ---- */

	/* Times in UTC, the registers' zone, written the same in every language. */
	function pad(n) {
		return (n < 10 ? '0' : '') + n;
	}
	RG.time = function (iso) {
		if (!iso)
			return '';
		var d = new Date(iso);
		if (isNaN(d.getTime()))
			return String(iso);
		return d.getUTCFullYear() + '-' + pad(d.getUTCMonth() + 1) + '-' + pad(d.getUTCDate()) + ' ' +
			pad(d.getUTCHours()) + ':' + pad(d.getUTCMinutes()) + ':' + pad(d.getUTCSeconds()) + ' UTC';
	};
	/* A time node with its ISO form as the title. */
	RG.timeEl = function (iso) {
		if (!iso)
			return '';
		return RG.el('time', {datetime: iso, title: iso, text: RG.time(iso)});
	};
	RG.days = function (iso) {
		if (!iso)
			return null;
		return Math.floor((new Date(iso).getTime() - Date.now()) / 86400000);
	};
	RG.bytes = function (n) {
		if (n === null || n === undefined)
			return '';
		var units = ['unit.b', 'unit.kib', 'unit.mib', 'unit.gib'];
		var i = 0;
		var v = Number(n);
		while (v >= 1024 && i < units.length - 1) {
			v /= 1024;
			i++;
		}
		return RG.num(i === 0 ? v : Math.round(v * 10) / 10) + ' ' + RG.t(units[i]);
	};
	RG.num = function (n) {
		return new Intl.NumberFormat(RG.lang || 'en').format(n);
	};
	RG.shortId = function (id) {
		return id ? String(id).slice(0, 8) : '';
	};

	/* Links to a message, a case: the sender names a received one. */
	RG.messageHref = function (m) {
		var q = new URLSearchParams({id: m.id});
		if (m.direction === 'in' && m.peer)
			q.set('sender', m.peer);
		return '/message?' + q.toString();
	};
	RG.caseHref = function (id, requester) {
		var q = new URLSearchParams({id: id});
		if (requester)
			q.set('requester', requester);
		return '/case?' + q.toString();
	};

	/* ---- charts: SVG drawn here, no library ---- */

	var SVG = 'http://www.w3.org/2000/svg';
	function svg(tag, attrs, text) {
		var n = document.createElementNS(SVG, tag);
		Object.keys(attrs || {}).forEach(function (k) { n.setAttribute(k, String(attrs[k])); });
		if (text !== undefined)
			n.textContent = text;
		return n;
	}

	/* Horizontal bars: rows [{label, value}], opts {title, link(row), format(v)}. Mirrored
	 * for right-to-left. */
	RG.barChart = function (rows, opts) {
		opts = opts || {};
		var rtl = document.documentElement.dir === 'rtl';
		var W = 680, LABEL = 280, VALUE = 80, BAR = 22, GAP = 8, CHARS = 42;
		var H = rows.length * (BAR + GAP) + GAP;
		var max = 0;
		rows.forEach(function (r) { max = Math.max(max, Number(r.value) || 0); });
		var fmt = opts.format || RG.num;
		var s = svg('svg', {viewBox: '0 0 ' + W + ' ' + H, width: W, height: H, role: 'img',
			class: 'chart'});
		if (opts.title)
			s.appendChild(svg('title', {}, opts.title));
		var span = W - LABEL - VALUE;
		rows.forEach(function (r, i) {
			var y = GAP + i * (BAR + GAP);
			var w = max > 0 ? Math.max(1, Math.round(span * (Number(r.value) || 0) / max)) : 1;
			var x = rtl ? W - LABEL - w : LABEL;
			var g = svg('g', {class: 'bar'});
			/* a long label shortened to fit its column; whole in its tooltip */
			var text = r.label.length > CHARS ? r.label.slice(0, CHARS - 1) + '\u2026' : r.label;
			var lab = svg('text', {x: rtl ? W - LABEL + 6 : LABEL - 6, y: y + BAR / 2,
				'text-anchor': rtl ? 'start' : 'end', 'dominant-baseline': 'middle',
				class: 'label'}, text);
			lab.appendChild(svg('title', {}, r.label));
			g.appendChild(lab);
			var rect = svg('rect', {x: x, y: y, width: w, height: BAR, rx: 3,
				class: 'fill' + (r.cls ? ' ' + r.cls : '')});
			rect.appendChild(svg('title', {}, r.label + ': ' + fmt(r.value)));
			g.appendChild(rect);
			g.appendChild(svg('text', {x: rtl ? x - 6 : x + w + 6, y: y + BAR / 2,
				'text-anchor': rtl ? 'end' : 'start', 'dominant-baseline': 'middle',
				class: 'value'}, fmt(r.value)));
			if (opts.link) {
				var a = svg('a', {href: opts.link(r)});
				a.appendChild(g);
				s.appendChild(a);
			} else {
				s.appendChild(g);
			}
		});
		return RG.el('figure', {class: 'chart'}, s);
	};

	/* ---- the API ---- */

	RG.me = null;

	function toLogin() {
		window.location.assign('/login');
		return new Promise(function () {});   /* nothing after this runs */
	}

	function answer(r) {
		if (r.status === 401)
			return toLogin();
		var ct = r.headers.get('Content-Type') || '';
		var body = ct.indexOf('json') >= 0 ? r.json() : r.text().then(function (t) {
			return {error: 'http-' + r.status, text: t.slice(0, 200)};
		});
		return body.then(function (j) {
			if (r.ok)
				return j;
			var e = new Error((j && j.text) || ('HTTP ' + r.status));
			e.status = r.status;
			e.code = (j && j.error) || ('http-' + r.status);
			e.text = (j && j.text) || '';
			e.problems = (j && j.problems) || null;
			e.body = j;
			throw e;
		}, function () {
			var e = new Error('HTTP ' + r.status + ': not JSON');
			e.status = r.status;
			e.code = 'http-' + r.status;
			throw e;
		});
	}

	function query(params) {
		if (!params)
			return '';
		var q = new URLSearchParams();
		Object.keys(params).forEach(function (k) {
			var v = params[k];
			if (v !== null && v !== undefined && v !== '' && v !== false)
				q.set(k, v === true ? '1' : String(v));
		});
		var s = q.toString();
		return s ? '?' + s : '';
	}
	RG.query = query;

	RG.get = function (path, params) {
		return fetch(path + query(params), {credentials: 'same-origin',
			headers: {'Accept': 'application/json'}}).then(answer);
	};
	/* body: an object (sent as JSON) or an ArrayBuffer/Blob (sent as is). */
	RG.post = function (path, body, params) {
		var raw = body instanceof ArrayBuffer || body instanceof Blob;
		var headers = {'Accept': 'application/json',
			'X-CSRF-Token': RG.me && RG.me.csrf ? RG.me.csrf : ''};
		headers['Content-Type'] = raw ? 'application/octet-stream' : 'application/json';
		return fetch(path + query(params), {method: 'POST', credentials: 'same-origin',
			headers: headers, body: raw ? body : JSON.stringify(body || {})}).then(answer);
	};

	/* files up in 256 KiB chunks to the upload u the console opened for a send (POST
	 * /api/upload?u=&index=&offset=, the body the bytes), one after the other, each
	 * answered once the daemon has read it; progress(done, total) after each. Resolves
	 * with the last answer: the send's ({"message": ...}). */
	RG.CHUNK = 262144;
	RG.upload = function (files, u, progress) {
		var total = files.reduce(function (s, f) { return s + f.size; }, 0);
		var done = 0, last = null, fi = 0, off = 0;
		progress(0, total);
		function step() {
			if (fi >= files.length)
				return Promise.resolve(last);
			var f = files[fi];
			var end = Math.min(off + RG.CHUNK, f.size);
			return RG.post('/api/upload', f.slice(off, end), {u: u, index: fi, offset: off}).then(function (r) {
				done += end - off;
				last = r;
				progress(done, total);
				off = end;
				if (off >= f.size) {
					fi++;
					off = 0;
				}
				return step();
			});
		}
		return step();
	};
	/* What /api/send and /api/update are told of the files. */
	RG.attachmentsOf = function (files) {
		return files.map(function (f) {
			return {name: f.name, media_type: f.type || 'application/octet-stream', size: f.size};
		});
	};
	/* A <progress> and its text. */
	RG.progress = function (bar, text) {
		return function (done, total) {
			bar.max = total || 1;
			bar.value = done;
			text.textContent = RG.t('draft.progress', {done: RG.bytes(done), total: RG.bytes(total),
				pct: total ? Math.floor(100 * done / total) : 100});
		};
	};

	/* The role rank: may the session's role do what role may? */
	RG.can = function (role) {
		if (!RG.me)
			return false;
		return ROLES.indexOf(RG.me.role) >= ROLES.indexOf(role);
	};
	/* Hides what needs a higher role: [data-role="officer"], [data-role="operator"]. */
	RG.applyRoles = function (root) {
		(root || document).querySelectorAll('[data-role]').forEach(function (n) {
			n.hidden = !RG.can(n.getAttribute('data-role'));
		});
	};

	/* ---- the header ---- */

	function header() {
		var nav = RG.$('nav');
		if (nav) {
			var here = window.location.pathname;
			NAV.forEach(function (it) {
				var a = RG.el('a', {href: it[0], text: RG.t(it[1])});
				if (it[0] === here)
					a.setAttribute('aria-current', 'page');
				if (it[2])
					a.setAttribute('data-role', it[2]);
				nav.appendChild(a);
			});
		}
		var who = RG.$('who');
		if (who && RG.me) {
			RG.clear(who);
			var other = RG.lang === 'fr' ? 'en' : 'fr';
			var q = new URLSearchParams(window.location.search);
			q.set('lang', other);
			who.appendChild(RG.el('span', {class: 'user', id: 'me-name', text: RG.me.name}));
			who.appendChild(RG.el('span', {class: 'role', id: 'me-role',
				text: RG.tv('role', RG.me.role)}));
			who.appendChild(RG.el('a', {class: 'lang', id: 'lang-switch', lang: other,
				href: window.location.pathname + '?' + q.toString(), text: RG.t('lang.' + other)}));
			who.appendChild(RG.el('button', {type: 'button', class: 'link', id: 'logout',
				text: RG.t('nav.logout'), onclick: function () {
					RG.post('/api/logout', {}).then(function () {
						window.location.assign('/login');
					}, function () {
						window.location.assign('/login');
					});
				}}));
		}
	}

	/* ---- refreshing ---- */

	/* fn every ms while someone uses the page: a refresh is a request like any other and
	 * would keep the session from its idle time-out, so it stops after IDLE_MS without a
	 * key or a click, and starts again with the next one. */
	var IDLE_MS = 10 * 60 * 1000;
	var lastInput = Date.now();
	['keydown', 'pointerdown', 'wheel'].forEach(function (ev) {
		window.addEventListener(ev, function () { lastInput = Date.now(); }, {passive: true});
	});
	RG.every = function (fn, ms) {
		return window.setInterval(function () {
			if (Date.now() - lastInput < IDLE_MS && !document.hidden)
				fn();
		}, ms);
	};

	/* ---- start ---- */

	RG.ready = new Promise(function (resolve) {
		document.addEventListener('DOMContentLoaded', resolve);
	});

	/* Loads the catalog and (unless public) the session, translates the page, builds the
	 * header, then runs main(me). */
	RG.start = function (main, opts) {
		opts = opts || {};
		var lang = pickLanguage();
		var mePromise = opts.public ? Promise.resolve(null) : RG.get('/api/me');
		return RG.ready.then(function () {
			return mePromise;
		}).then(function (me) {
			RG.me = me;
			if (!lang)
				lang = me && LANGS.indexOf(me.language) >= 0 ? me.language : 'en';
			RG.lang = lang;
			return loadCatalog(lang);
		}).then(function (cat) {
			catalog = cat;
			document.documentElement.lang = RG.lang;
			document.documentElement.dir = cat._dir === 'rtl' ? 'rtl' : 'ltr';
			RG.translate(document);
			var tk = document.body.getAttribute('data-title');
			if (tk)
				document.title = RG.t(tk) + ' — ' + RG.t('app.name');
			header();
			RG.applyRoles(document);
			document.body.classList.remove('loading');
			return main(RG.me);
		}).catch(function (err) {
			document.body.classList.remove('loading');
			RG.showError(err);
		});
	};
})();
