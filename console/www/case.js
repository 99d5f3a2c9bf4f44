/* case.js: one case whole: its status, references and clocks, every document in order
 * (sender, status, reasons, note, delivery, attachments), the request's elements, and
 * for officers the status update form: only the statuses the daemon says our side may
 * send now (case.next_statuses), with the elements each needs and the reasons of its
 * table (daemon/case.c: statuses[] and reasons[]; the daemon judges again). */
'use strict';
(function () {
	var el = RG.el;
	var id = RG.params.get('id') || '';
	var requester = RG.params.get('requester') || '';

	/* daemon/case.c statuses[]: what each status's document needs (n) and allows (a):
	 * r reference, o note, s reasons, e estimate. */
	var STATUS_FIELDS = {
		'acknowledged': {n: 'r', a: 'ro'}, 'in-progress': {n: '', a: 'ro'},
		'additional-information-requested': {n: 'o', a: 'ro'}, 'postponed': {n: 'se', a: 'rose'},
		'executed': {n: '', a: 'ro'}, 'partially-executed': {n: '', a: 'ro'},
		'refused': {n: 's', a: 'ros'}, 'progress-inquiry': {n: '', a: 'ro'},
		'withdrawn': {n: '', a: 'ro'}, 'consultation': {n: 'o', a: 'ros'},
		'additional-information': {n: '', a: 'ro'}, 'conditions-accepted': {n: '', a: 'ro'},
		'conditions-declined': {n: '', a: 'ro'},
	};
	/* daemon/case.c reasons[]: the statuses each code may be given for; "other" needs text. */
	var REASONS = [
		['46-21-a', ['refused', 'consultation']], ['46-21-b', ['refused', 'consultation']],
		['46-21-c', ['refused', 'consultation']], ['46-21-d', ['refused', 'consultation']],
		['double-criminality', ['refused', 'consultation']], ['ne-bis-in-idem', ['refused', 'consultation']],
		['46-25', ['postponed', 'consultation']], ['other', ['refused', 'consultation', 'postponed']],
	];
	var caseData = null;

	function clockRow(key, c) {
		if (!c)
			return [key, RG.t('case.no_clock')];
		return [key, el('span', {class: 'clock c-' + c.state}, RG.timeEl(c.due), ' ', RG.badge('clock', c.state),
			c.source ? ' ' + RG.tv('clocksrc', c.source) : '')];
	}

	function summary(c) {
		RG.clear(RG.$('summary')).appendChild(RG.dl([
			['col.case', el('code', {text: c.id})], ['col.direction', RG.tv('dir', c.direction)],
			['col.side', RG.tv('side', c.side)], ['col.requester', c.requester], ['col.requested', c.requested],
			['col.kind', RG.tv('kind', c.kind)], ['col.urgent', c.urgent ? RG.t('common.yes') : RG.t('common.no')],
			['col.status', el('span', {id: 'case-status'}, RG.badge('status', c.status))],
			['col.consulted', c.consulted ? RG.t('common.yes') : RG.t('common.no')],
			['col.requester_reference', c.requester_reference], ['col.requested_reference', c.requested_reference],
			['col.opened', RG.timeEl(c.opened)], ['col.updated', RG.timeEl(c.updated)]]));
		var ck = c.clocks || {};
		RG.clear(RG.$('clocks')).appendChild(RG.dl([['col.received', RG.timeEl(ck.received)],
			clockRow('col.acknowledge_by', ck.acknowledge_by), clockRow('col.respond_by', ck.respond_by)]));
		RG.$('case-ref').textContent = c.requester_reference || RG.shortId(c.id);
	}

	/* The elements of a document as nested definition lists (values are text). */
	function content(v, path) {
		if (v === null || v === undefined)
			return '';
		if (Array.isArray(v)) {
			return el('ol', {class: 'items'}, v.map(function (x) { return el('li', null, content(x, path)); }));
		}
		if (typeof v === 'object') {
			var d = el('dl', {class: 'kv nested'});
			Object.keys(v).forEach(function (k) {
				var p = path ? path + '.' + k : k;
				d.appendChild(el('dt', {text: RG.has('el.' + p) ? RG.t('el.' + p) : k}));
				d.appendChild(el('dd', null, content(v[k], p)));
			});
			return d;
		}
		if (v === true)
			return RG.t('common.yes');
		return el('span', {class: 'prose', text: String(v)});
	}

	function files(list) {
		if (!list || !list.length)
			return null;
		return el('ul', {class: 'files'}, list.map(function (a) {
			return el('li', null, el('span', {text: a.name}), ' ',
				el('span', {class: 'meta', text: a.media_type + ', ' + RG.bytes(a.size)}));
		}));
	}

	function delivery(d) {
		if (!d)
			return '';
		return el('span', {class: 'delivery'}, RG.badge('state', d.state),
			d.receipt ? ' ' + RG.t('case.signed_receipt') : '',
			d.retrieved ? ' · ' + RG.t('case.retrieved', {by: d.retrieved.by}) : '');
	}

	function history(j) {
		var ol = RG.clear(RG.$('history'));
		var r = j.request || {};
		ol.appendChild(el('li', {dataset: {status: 'requested'}},
			el('span', {class: 'when'}, RG.timeEl(r.created)),
			el('span', {class: 'what'}, RG.badge('status', 'requested'), ' ',
				el('a', {href: RG.messageHref({id: r.id, direction: r.direction, peer: r.direction === 'in' ? r.sender : r.recipient}),
					class: 'mono', text: RG.shortId(r.id)})),
			el('span', {class: 'detail', text: RG.t('case.from', {who: r.sender || ''}) + ' · ' + (r.subject || '')}),
			delivery(r.delivery)));
		(j.documents || []).forEach(function (d) {
			var c = d.content || {};
			var reasons = (c.reasons || []).map(function (x) {
				return RG.tv('reason', x.code) + (x.text ? ': ' + x.text : '');
			});
			ol.appendChild(el('li', {dataset: {status: d.status || '', sequence: String(d.sequence)}},
				el('span', {class: 'when'}, RG.timeEl(d.created)),
				el('span', {class: 'what'}, el('span', {class: 'seq', text: '#' + d.sequence}), ' ',
					RG.badge('status', d.status), ' ',
					el('a', {href: RG.messageHref({id: d.id, direction: d.direction, peer: d.direction === 'in' ? d.sender : d.recipient}),
						class: 'mono', text: RG.shortId(d.id)}),
					d.applied && d.applied !== 'applied' ? [' ', RG.badge('applied', d.applied)] : null),
				el('span', {class: 'detail', text: [RG.t('case.from', {who: d.sender}) + ' (' + RG.tv('side', d.side) + ')',
					c.reference ? RG.t('case.reference', {ref: c.reference}) : '',
					c.estimate ? RG.t('case.estimate', {date: c.estimate}) : ''].filter(Boolean).join(' · ')}),
				reasons.length ? el('ul', {class: 'reasons'}, reasons.map(function (x) { return el('li', {text: x}); })) : null,
				c.note || d.note ? el('p', {class: 'prose note', text: c.note || d.note}) : null,
				files(d.attachments), delivery(d.delivery)));
		});
	}

	function request(r) {
		var box = RG.clear(RG.$('request'));
		if (!r || r.missing) {
			box.appendChild(RG.empty('case.request_missing'));
			return;
		}
		box.appendChild(el('h3', {text: r.subject || ''}));
		box.appendChild(content(r.content || {}, ''));
		var f = files(r.attachments);
		if (f) {
			box.appendChild(el('h3', {text: RG.t('message.attachments')}));
			box.appendChild(f);
		}
	}

	/* ---- the update form ---- */

	function nextStatuses(j) {
		var c = j.case || {};
		var ns = c.next_statuses || j.next_statuses || [];
		return ns.map(function (s) { return typeof s === 'string' ? s : s.status; }).filter(Boolean);
	}

	function fieldsOf(status) {
		return STATUS_FIELDS[status] || {n: '', a: 'ro'};
	}

	function showFor(status) {
		var f = fieldsOf(status);
		RG.$('u-reference-row').hidden = f.a.indexOf('r') < 0;
		RG.$('u-note-row').hidden = f.a.indexOf('o') < 0;
		RG.$('u-estimate-row').hidden = f.a.indexOf('e') < 0;
		RG.$('u-reasons-row').hidden = f.a.indexOf('s') < 0;
		RG.$('u-reference').required = f.n.indexOf('r') >= 0;
		RG.$('u-note').required = f.n.indexOf('o') >= 0;
		RG.$('u-estimate').required = f.n.indexOf('e') >= 0;
		RG.$('u-status-hint').textContent = RG.has('statushint.' + status) ? RG.t('statushint.' + status) : '';
		var box = RG.clear(RG.$('u-reasons'));
		REASONS.forEach(function (r) {
			if (r[1].indexOf(status) < 0)
				return;
			var cb = el('input', {type: 'checkbox', value: r[0], id: 'u-reason-' + r[0]});
			var text = el('input', {type: 'text', class: 'reason-text', id: 'u-reason-text-' + r[0],
				'data-i18n-placeholder': 'update.reason_text', placeholder: RG.t('update.reason_text')});
			box.appendChild(el('div', {class: 'reason'}, el('label', {class: 'check'}, cb,
				el('span', {text: RG.tv('reason', r[0])})), text));
		});
	}

	function problems(list) {
		var p = RG.$('u-problems');
		RG.clear(p);
		p.hidden = !list.length;
		list.forEach(function (x) {
			p.appendChild(el('span', {class: 'problem', text: (x.path ? x.path + ': ' : '') + x.reason}));
		});
	}

	function send(ev) {
		ev.preventDefault();
		var status = RG.$('u-status').value;
		var f = fieldsOf(status);
		var body = {request_id: caseData.id, requester: caseData.requester, status: status};
		var missing = [];
		function take(flag, input, name) {
			var v = RG.$(input).value.trim();
			if (f.a.indexOf(flag) >= 0 && v)
				body[name] = v;
			if (f.n.indexOf(flag) >= 0 && !v)
				missing.push({path: name, reason: RG.t('problem.required')});
		}
		take('r', 'u-reference', 'reference');
		take('o', 'u-note', 'note');
		take('e', 'u-estimate', 'estimate');
		if (f.a.indexOf('s') >= 0) {
			var reasons = [];
			RG.$('u-reasons').querySelectorAll('input[type=checkbox]:checked').forEach(function (cb) {
				var t = RG.$('u-reason-text-' + cb.value).value.trim();
				reasons.push(t ? {code: cb.value, text: t} : {code: cb.value});
				if (cb.value === 'other' && !t)
					missing.push({path: 'reasons', reason: RG.t('problem.other_text')});
			});
			if (reasons.length) {
				body.reason = reasons;     /* the spec's name; a list of {code, text} */
			} else if (f.n.indexOf('s') >= 0) {
				missing.push({path: 'reasons', reason: RG.t('problem.required')});
			}
		}
		var files = Array.prototype.slice.call(RG.$('u-files').files || []);
		if (files.some(function (x) { return x.size === 0; }))
			missing.push({path: 'attachments', reason: RG.t('draft.empty_file')});
		problems(missing);
		if (missing.length)
			return;
		if (files.length)
			body.attachments = RG.attachmentsOf(files);
		RG.$('u-send').disabled = true;
		RG.post('/api/update', body).then(function (r) {
			if (!r.upload)
				return r;
			RG.$('u-upload').hidden = false;
			return RG.upload(files, r.upload, RG.progress(RG.$('u-progress'), RG.$('u-progress-text')));
		}).then(function (r) {
			RG.$('u-send').disabled = false;
			RG.$('u-upload').hidden = true;
			var m = (r && r.message) || {};
			RG.notice(RG.t('update.sent', {status: RG.tv('status', status), id: m.id || ''}));
			RG.$('update').reset();
			RG.clear(RG.$('u-file-list'));
			return load();
		}, function (e) {
			RG.$('u-send').disabled = false;
			RG.$('u-upload').hidden = true;
			if (e.problems)
				problems(e.problems);
			else
				RG.showError(e);
		});
	}

	function updateForm(j) {
		var list = nextStatuses(j);
		var sel = RG.clear(RG.$('u-status'));
		list.forEach(function (s) {
			sel.appendChild(el('option', {value: s, text: RG.tv('status', s)}));
		});
		RG.$('update').hidden = !list.length;
		RG.$('u-none').hidden = list.length > 0;
		if (list.length)
			showFor(list[0]);
	}

	function load() {
		return RG.get('/api/case', {id: id, requester: requester}).then(function (j) {
			RG.hideError();
			caseData = j.case || {};
			summary(caseData);
			history(j);
			request(j.request);
			if (RG.can('officer'))
				updateForm(j);
			document.body.dataset.loaded = '1';
		}, function (e) {
			RG.showError(e);
		});
	}

	RG.start(function () {
		RG.$('u-status').addEventListener('change', function () { showFor(this.value); });
		RG.$('update').addEventListener('submit', send);
		RG.$('u-files').addEventListener('change', function () {
			var ul = RG.clear(RG.$('u-file-list'));
			Array.prototype.forEach.call(this.files, function (f) {
				ul.appendChild(el('li', null, el('span', {text: f.name}), ' ',
					el('span', {class: 'meta', text: (f.type || 'application/octet-stream') + ', ' + RG.bytes(f.size)})));
			});
		});
		return load();
	});
})();
