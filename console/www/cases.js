/* cases.js: the case register: incoming, outgoing, overdue, due soon (7 days), with
 * each case's clocks as the daemon judged them now; filters by status, authority, kind. */
'use strict';
(function () {
	var el = RG.el;
	var STATUSES = ['requested', 'acknowledged', 'in-progress', 'additional-information-requested',
		'additional-information', 'consultation', 'conditions-accepted', 'conditions-declined',
		'postponed', 'partially-executed', 'executed', 'refused', 'withdrawn', 'void'];
	var KINDS = ['mla', 'extradition', 'provisional-arrest', 'asset-recovery', 'service-of-documents', 'other'];
	var DUE_SOON_S = 7 * 86400;
	var view = RG.params.get('view') || 'all';

	function clock(c) {
		if (!c)
			return '';
		return el('span', {class: 'clock c-' + c.state, title: c.due},
			RG.timeEl(c.due), ' ', RG.badge('clock', c.state));
	}

	function render(list) {
		var box = RG.clear(RG.$('list'));
		if (!list.length) {
			box.appendChild(RG.empty('cases.none'));
			return;
		}
		box.appendChild(RG.table(['col.case', 'col.direction', 'col.peer', 'col.kind', 'col.status',
			'col.references', 'col.opened', 'col.acknowledge_by', 'col.respond_by'], list.map(function (c) {
			var ck = c.clocks || {};
			return {attrs: {dataset: {id: c.id, status: c.status, direction: c.direction}}, cells: [
				el('a', {href: RG.caseHref(c.id, c.requester), class: 'mono', title: c.id, text: RG.shortId(c.id)}),
				RG.tv('dir', c.direction), c.peer,
				[RG.tv('kind', c.kind), c.urgent ? [' ', RG.badge('common', 'urgent')] : null],
				RG.badge('status', c.status),
				[c.requester_reference || '—', ' / ', c.requested_reference || '—'],
				RG.timeEl(c.opened), clock(ck.acknowledge_by), clock(ck.respond_by)]};
		}), 'cases'));
	}

	function load() {
		var q = {state: RG.$('f-status').value, peer: RG.$('f-peer').value, kind: RG.$('f-kind').value};
		if (view === 'incoming' || view === 'outgoing')
			q.dir = view;
		if (view === 'overdue')
			q.overdue = 1;
		if (view === 'due-soon')
			q.due_within = DUE_SOON_S;
		return RG.get('/api/cases', q).then(function (list) {
			RG.hideError();
			render(Array.isArray(list) ? list : (list.cases || []));
			document.body.dataset.loaded = '1';
		}, function (e) {
			RG.showError(e);
		});
	}

	RG.start(function () {
		RG.$('tabs').querySelectorAll('a').forEach(function (a) {
			if (a.dataset.view === view)
				a.setAttribute('aria-current', 'page');
		});
		STATUSES.forEach(function (s) {
			RG.$('f-status').appendChild(el('option', {value: s, text: RG.tv('status', s)}));
		});
		KINDS.forEach(function (k) {
			RG.$('f-kind').appendChild(el('option', {value: k, text: RG.tv('kind', k)}));
		});
		RG.$('filters').addEventListener('submit', function (ev) {
			ev.preventDefault();
			load();
		});
		return RG.get('/api/peers').then(function (peers) {
			peers.forEach(function (p) {
				RG.$('f-peer').appendChild(el('option', {value: p.id, text: p.id}));
			});
			return load();
		});
	});
})();
