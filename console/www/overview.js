/* overview.js: what an operator looks at first: the authority, its links (up or down
 * with the last error), the outbound queue by state, the active alerts, and when our
 * certificate, the peers' and the CRL expire. Refreshed every 15 s. */
'use strict';
(function () {
	var el = RG.el;
	var WARN_DAYS = 30;

	function card(key, value, cls, id) {
		return el('div', {class: 'card' + (cls ? ' ' + cls : ''), id: id || null},
			el('div', {class: 'card-label', text: RG.t(key)}),
			el('div', {class: 'card-value'}, value));
	}

	function expiryCls(iso) {
		var d = RG.days(iso);
		return d === null ? '' : d < 0 ? 'bad' : d < WARN_DAYS ? 'warn' : 'good';
	}
	function inDays(iso) {
		var d = RG.days(iso);
		if (d === null)
			return '';
		return d < 0 ? RG.t('time.expired_ago', {n: -d}) : RG.t('time.in_days', {n: d});
	}

	function renderStatus(s, peers) {
		var cards = RG.clear(RG.$('cards'));
		var up = peers.filter(function (p) { return p.state === 'up'; }).length;
		cards.appendChild(card('overview.authority', s.authority, null, 'c-authority'));
		cards.appendChild(card('overview.links_up', RG.t('overview.n_of_m',
			{n: up, m: peers.length}), up < peers.length ? 'warn' : 'good', 'c-links'));
		cards.appendChild(card('overview.uptime', RG.t('time.duration_h',
			{h: Math.floor(s.uptime_s / 3600), m: Math.floor(s.uptime_s % 3600 / 60)})));
		cards.appendChild(card('overview.version', s.version));
	}

	function renderLinks(peers) {
		var box = RG.clear(RG.$('links'));
		if (!peers.length) {
			box.appendChild(RG.empty());
			return;
		}
		box.appendChild(RG.table(['col.peer', 'col.link', 'col.last_contact', 'col.last_error'],
			peers.map(function (p) {
				return {attrs: {dataset: {peer: p.id, state: p.state}}, cells: [
					el('span', {title: p.name, text: p.id}),
					[RG.badge('link', p.state), p.paused ? [' ', RG.badge('common', 'paused')] : null],
					RG.timeEl(p.last_contact),
					p.last_error ? el('span', {class: 'err', text: p.last_error}) : '']};
			})));
	}

	/* The queue as `rogatoryctl queue` sees it: outbound messages not settled, counted
	 * from one page per state (keyset paged by the daemon: never every row). */
	var OPEN = ['queued', 'sending', 'retrying', 'unconfirmed'];
	var CAP = 200;

	function loadQueue() {
		return Promise.all(OPEN.map(function (st) {
			return RG.get('/api/messages', {direction: 'out', state: st, limit: CAP});
		}));
	}

	function renderQueue(pages) {
		var box = RG.clear(RG.$('queue'));
		var rows = OPEN.map(function (st, i) {
			var r = pages[i];
			var list = Array.isArray(r) ? r : (r.messages || []);
			var more = !Array.isArray(r) && r.next;
			return {label: RG.tv('state', st), value: list.length, key: st, more: more};
		});
		var total = rows.reduce(function (s, r) { return s + r.value; }, 0);
		if (!total) {
			box.appendChild(el('p', {class: 'ok', id: 'queue-empty', text: RG.t('overview.queue_empty')}));
			return;
		}
		box.appendChild(RG.barChart(rows, {title: RG.t('overview.queue'), format: function (v) {
			return RG.num(v);
		}, link: function (r) {
			return '/messages?direction=out&state=' + encodeURIComponent(r.key);
		}}));
		if (rows.some(function (r) { return r.more; }))
			box.appendChild(el('p', {class: 'meta', text: RG.t('overview.queue_capped', {n: CAP})}));
	}

	function renderAlerts(alerts) {
		var box = RG.clear(RG.$('alerts'));
		if (!alerts.length) {
			box.appendChild(el('p', {class: 'ok', id: 'no-alerts', text: RG.t('overview.no_alerts')}));
			return;
		}
		box.appendChild(RG.table(['col.alert', 'col.subject', 'col.since', 'col.detail'],
			alerts.map(function (a) {
				return [RG.badge('alert', a.alert), a.subject || '', RG.timeEl(a.since), a.detail];
			}), 'alerts'));
	}

	function renderExpiry(s, peers) {
		var box = RG.clear(RG.$('expiry'));
		var rows = [[RG.t('overview.own_certificate', {id: s.authority}),
			RG.timeEl(s.certificate_not_after),
			el('span', {class: expiryCls(s.certificate_not_after), text: inDays(s.certificate_not_after)})]];
		peers.forEach(function (p) {
			if (p.certificate_not_after)
				rows.push([RG.t('overview.peer_certificate', {id: p.id}), RG.timeEl(p.certificate_not_after),
					el('span', {class: expiryCls(p.certificate_not_after), text: inDays(p.certificate_not_after)})]);
		});
		if (s.crl) {
			var cls = s.crl.expired ? 'bad' : s.crl.renewal_due ? 'warn' : expiryCls(s.crl.next_update);
			rows.push([RG.t('overview.crl', {n: s.crl.number}), RG.timeEl(s.crl.next_update),
				el('span', {class: cls, text: s.crl.expired ? RG.t('overview.crl_expired')
					: s.crl.renewal_due ? RG.t('overview.crl_renew') : inDays(s.crl.next_update)})]);
		} else {
			rows.push([RG.t('overview.crl_none'), '', '']);
		}
		box.appendChild(RG.table(['col.what', 'col.not_after', 'col.remaining'], rows));
		var d = s.directory || {};
		box.appendChild(el('p', {class: 'meta', text: d.serial !== null && d.serial !== undefined
			? RG.t('overview.directory_signed', {serial: d.serial, source: d.source})
			: RG.t('overview.directory_unsigned')}));
	}

	function load() {
		return Promise.all([RG.get('/api/status'), RG.get('/api/peers'), RG.get('/api/alerts'),
			loadQueue()]).then(function (r) {
			RG.hideError();
			renderStatus(r[0], r[1]);
			renderLinks(r[1]);
			renderQueue(r[3]);
			renderAlerts(r[2]);
			renderExpiry(r[0], r[1]);
			document.body.dataset.loaded = '1';
		}, function (e) {
			RG.showError(e);
		});
	}

	RG.start(function () {
		return load().then(function () {
			RG.every(load, 15000);
		});
	});
})();
