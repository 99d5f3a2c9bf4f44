/* message.js: one message: its summary, every event of its timeline, its receipt and
 * proof of retrieval, its attachments, the offline verify result, and the actions the
 * session's role allows (retry and cancel for operators, export for everyone: the
 * evidence bundle's files, each downloaded from the daemon part by part). */
'use strict';
(function () {
	var el = RG.el;
	var id = RG.params.get('id') || '';
	var sender = RG.params.get('sender') || '';
	var OPEN = ['queued', 'retrying', 'sending', 'unconfirmed', 'failed', 'expired'];
	var CANCELLABLE = ['queued', 'retrying'];

	function summary(m) {
		return RG.dl([['col.message', el('code', {text: m.id})],
			['col.direction', RG.tv('dir', m.direction)], ['col.peer', m.peer],
			['col.kind', RG.tv('kind', m.kind)],
			['col.urgent', m.urgent ? RG.t('common.yes') : RG.t('common.no')],
			['col.state', el('span', {id: 'state'}, RG.badge('state', m.state))],
			['col.attempts', String(m.attempts)], ['col.created', RG.timeEl(m.created)],
			['col.updated', RG.timeEl(m.updated)], ['col.next_attempt', RG.timeEl(m.next_attempt)],
			['col.expires', RG.timeEl(m.expires)],
			['col.fetched', m.fetched === undefined ? null : m.fetched ? RG.t('common.yes') : RG.t('common.no')],
			['col.last_error', m.last_error ? el('span', {class: 'err', text: m.last_error}) : null],
			['col.size', RG.bytes(m.size)],
			['col.payload_sha256', el('code', {class: 'hash', text: m.payload_sha256})]]);
	}

	function receipt(m) {
		var box = RG.clear(RG.$('receipt'));
		if (!m.receipt) {
			box.appendChild(RG.empty('message.no_receipt'));
		} else {
			box.appendChild(RG.dl([['message.receipt_held', RG.t('common.yes')],
				['col.receipt_sha256', m.receipt_sha256 ? el('code', {class: 'hash', text: m.receipt_sha256}) : null],
				['col.receipt_bytes', m.receipt_bytes ? RG.bytes(m.receipt_bytes) : null]]));
		}
		var r = m.retrieved;
		if (r) {
			box.appendChild(el('h3', {text: RG.t('message.retrieved')}));
			box.appendChild(RG.dl([['col.time', RG.timeEl(r.time)], ['col.by', r.by],
				['col.user', r.user ? r.user + ' (uid ' + r.uid + ')' : 'uid ' + r.uid],
				['col.evidence_sha256', el('code', {class: 'hash', text: r.evidence_sha256})],
				['col.receipt', r.receipt ? RG.tv('outcome', r.receipt) : RG.t('message.not_receipted')]]));
		}
	}

	function timeline(events) {
		var ol = RG.clear(RG.$('timeline'));
		if (!events.length) {
			ol.appendChild(el('li', {class: 'empty', text: RG.t('common.none')}));
			return;
		}
		events.forEach(function (e) {
			var actor = e.actor ? RG.t('message.by', {who: e.actor.user || ('uid ' + e.actor.uid)}) : '';
			ol.appendChild(el('li', {dataset: {event: e.event, seq: String(e.seq)}},
				el('span', {class: 'when'}, RG.timeEl(e.ts)),
				el('span', {class: 'what'}, RG.badge('event', e.event),
					e.state ? [' ', RG.badge(RG.stateKind(e), e.state)] : null),
				el('span', {class: 'detail', text: [e.attempt ? RG.t('message.attempt', {n: e.attempt}) : '',
					e.reason || '', actor].filter(Boolean).join(' · ')})));
		});
	}

	function attachments(list) {
		var box = RG.clear(RG.$('attachments'));
		if (!list || !list.length) {
			box.appendChild(RG.empty());
			return;
		}
		box.appendChild(RG.table(['col.name', 'col.media_type', 'col.size', 'col.sha256'],
			list.map(function (a) {
				return [a.name, a.media_type, RG.bytes(a.size), el('code', {class: 'hash', text: a.sha256})];
			})));
	}

	function verify(v) {
		var box = RG.clear(RG.$('verify'));
		if (!v) {
			box.appendChild(RG.empty());
			return;
		}
		box.appendChild(el('p', {id: 'verify-result', class: v.valid ? 'ok' : 'bad',
			text: v.valid ? RG.t('verify.valid') : RG.t('verify.invalid')}));
		box.appendChild(RG.table(['col.check', 'col.result', 'col.detail'], (v.checks || []).map(function (c) {
			return [c.check, el('span', {class: c.ok ? 'ok' : 'bad', text: c.ok ? RG.t('verify.ok') : RG.t('verify.failed')}),
				c.detail];
		})));
	}

	function exportBundle() {
		var q = {id: id, sender: sender};
		RG.get('/api/export', q).then(function (man) {
			var panel = RG.$('export-panel');
			panel.hidden = false;
			var box = RG.clear(RG.$('export-files'));
			box.appendChild(el('p', {class: man.verify && man.verify.valid ? 'ok' : 'bad',
				text: RG.t('export.explain', {format: man.format || ''})}));
			box.appendChild(RG.table(['col.file', 'col.what', 'col.size', 'col.sha256'],
				(man.files || []).map(function (f) {
					var href = '/api/export/file' + RG.query({id: id, sender: sender, part: f.part});
					var name = String(f.path).split('/').pop();
					return [el('a', {href: href, download: name, class: 'mono', text: f.path}),
						f.what || '', RG.bytes(f.size), el('code', {class: 'hash', text: f.sha256})];
				})));
			panel.scrollIntoView();
		}, function (e) {
			RG.showError(e);
		});
	}

	function act(op) {
		return RG.post('/api/' + op, {id: id}).then(function (r) {
			RG.notice(RG.t('message.done_' + op));
			return load(r);
		}, function (e) {
			RG.showError(e);
		});
	}

	function load() {
		return RG.get('/api/message', {id: id, sender: sender}).then(function (r) {
			var m = r.message || {};
			RG.$('msg-id').textContent = m.id || id;
			RG.clear(RG.$('summary')).appendChild(summary(m));
			receipt(m);
			timeline(r.events || m.events || []);
			attachments(m.attachments);
			verify(r.verify);
			var out = m.direction === 'out';
			RG.$('retry').hidden = !(RG.can('operator') && out && OPEN.indexOf(m.state) >= 0);
			RG.$('cancel').hidden = !(RG.can('operator') && out && CANCELLABLE.indexOf(m.state) >= 0);
			document.body.dataset.loaded = '1';
		}, function (e) {
			RG.showError(e);
		});
	}

	RG.start(function () {
		RG.$('retry').addEventListener('click', function () { act('retry'); });
		RG.$('cancel').addEventListener('click', function () {
			if (window.confirm(RG.t('message.confirm_cancel')))
				act('cancel');
		});
		RG.$('export').addEventListener('click', exportBundle);
		return load();
	});
})();
