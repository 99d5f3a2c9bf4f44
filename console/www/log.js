/* log.js: the live delivery log. Events arrive from /api/events (Server-Sent Events,
 * one "log" event per committed event, its id the seq) and are added at the top without
 * a reload; the browser reconnects by itself with Last-Event-ID. The filters only hide
 * rows here; at most MAX rows are kept. */
'use strict';
(function () {
	var el = RG.el;
	var MAX = 500;
	var seen = {};

	function matches(tr) {
		var p = RG.$('lf-peer').value.trim().toLowerCase();
		var e = RG.$('lf-event').value.trim().toLowerCase();
		var i = RG.$('lf-id').value.trim().toLowerCase();
		return (!p || (tr.dataset.peer || '').toLowerCase().indexOf(p) >= 0) &&
			(!e || (tr.dataset.event || '').indexOf(e) >= 0) &&
			(!i || (tr.dataset.id || '').indexOf(i) >= 0);
	}
	function refilter() {
		RG.$('log-rows').querySelectorAll('tr').forEach(function (tr) {
			tr.hidden = !matches(tr);
		});
	}

	function row(e) {
		var idCell = e.id ? el('a', {class: 'mono', href: RG.messageHref({id: e.id,
			direction: e.direction, peer: e.peer}), title: e.id, text: RG.shortId(e.id)}) : '';
		var who = e.actor ? RG.t('message.by', {who: e.actor.user || ('uid ' + e.actor.uid)}) : '';
		return el('tr', {dataset: {seq: String(e.seq), event: e.event || '', peer: e.peer || '',
			id: e.id || ''}, class: 'new'},
			el('td', {class: 'num', text: String(e.seq)}), el('td', null, RG.timeEl(e.ts)),
			el('td', null, RG.badge('event', e.event)), el('td', null, idCell),
			el('td', {text: RG.tv('dir', e.direction)}), el('td', {text: e.peer || ''}),
			el('td', null, e.state ? RG.badge(RG.stateKind(e), e.state) : ''),
			el('td', {class: 'detail', text: [e.reason || '', who].filter(Boolean).join(' · ')}));
	}

	function add(e) {
		if (!e || e.seq === undefined || seen[e.seq])
			return;
		seen[e.seq] = true;
		var body = RG.$('log-rows');
		var tr = row(e);
		tr.hidden = !matches(tr);
		/* newest first, in seq order even when several arrive together */
		var before = body.firstChild;
		while (before && Number(before.dataset.seq) > e.seq)
			before = before.nextSibling;
		body.insertBefore(tr, before);
		while (body.childNodes.length > MAX) {
			delete seen[body.lastChild.dataset.seq];
			body.removeChild(body.lastChild);
		}
		RG.$('log-empty').hidden = true;
	}

	function state(key, cls) {
		var s = RG.$('live-state');
		s.textContent = RG.t(key);
		s.className = 'badge ' + cls;
		s.dataset.value = cls.slice(2);
	}

	RG.start(function () {
		['lf-peer', 'lf-event', 'lf-id'].forEach(function (f) {
			RG.$(f).addEventListener('input', refilter);
		});
		RG.$('log-filters').addEventListener('submit', function (ev) { ev.preventDefault(); });
		var held = [];
		RG.$('lf-pause').addEventListener('change', function () {
			if (!this.checked) {
				held.forEach(add);
				held = [];
			}
		});
		var after = RG.params.get('after');
		var src = new EventSource('/api/events' + (after ? RG.query({after: after}) : ''));
		src.addEventListener('open', function () {
			state('log.live', 'b-up');
			document.body.dataset.live = '1';
		});
		src.addEventListener('error', function () {
			state(src.readyState === EventSource.CLOSED ? 'log.closed' : 'log.reconnecting',
				'b-down');
			document.body.dataset.live = '0';
			if (src.readyState === EventSource.CLOSED)    /* e.g. the session ended */
				RG.get('/api/me').then(function () {}, function () {});
		});
		/* the console ends a stream whose session ended: to the login page */
		src.addEventListener('end', function () {
			src.close();
			state('log.closed', 'b-down');
			document.body.dataset.live = '0';
			RG.get('/api/me').then(function () {}, function () {});
		});
		src.addEventListener('log', function (m) {
			var e;
			try {
				e = JSON.parse(m.data);
			} catch (x) {
				return;
			}
			if (RG.$('lf-pause').checked)
				held.push(e);
			else
				add(e);
		});
		window.addEventListener('beforeunload', function () { src.close(); });
	});
})();
