/* peers.js: every authority of the directory with its link: state, links up, last
 * contact, last error, certificate expiry, paused; operators pause, resume and dial. */
'use strict';
(function () {
	var el = RG.el;

	function action(op, peer) {
		return el('button', {type: 'button', class: 'small' + (op === 'pause' ? ' secondary' : ''),
			dataset: {op: op, peer: peer}, text: RG.t('action.' + op), onclick: function () {
				var b = this;
				b.disabled = true;
				RG.post('/api/' + op, {peer: peer}).then(function () {
					RG.notice(RG.t('peers.done_' + op, {id: peer}));
					return load();
				}, function (e) {
					b.disabled = false;
					RG.showError(e);
				});
			}});
	}

	function render(peers) {
		var box = RG.clear(RG.$('peers'));
		if (!peers.length) {
			box.appendChild(RG.empty());
			return;
		}
		var op = RG.can('operator');
		var head = ['col.peer', 'col.name', 'col.address', 'col.link', 'col.links_up',
			'col.last_contact', 'col.last_error', 'col.certificate', 'col.paused'];
		if (op)
			head.push('col.actions');
		box.appendChild(RG.table(head, peers.map(function (p) {
			var cells = [el('strong', {text: p.id}), p.name, el('span', {class: 'mono', text: p.address}),
				[RG.badge('link', p.state), p.retry_in_ms ? ' ' + RG.t('peers.retry_in', {s: Math.ceil(p.retry_in_ms / 1000)}) : ''],
				String(p.links_up), RG.timeEl(p.last_contact),
				p.last_error ? el('span', {class: 'err', text: p.last_error}) : '',
				RG.timeEl(p.certificate_not_after),
				p.paused ? [RG.badge('common', 'paused'), ' ', RG.timeEl(p.paused_since)] : RG.t('common.no')];
			if (op)
				cells.push([p.paused ? action('resume', p.id) : action('pause', p.id), ' ',
					p.state !== 'up' ? action('connect', p.id) : null]);
			return {attrs: {dataset: {peer: p.id, state: p.state}}, cells: cells};
		})));
	}

	function load() {
		return RG.get('/api/peers').then(function (p) {
			RG.hideError();
			render(p);
			document.body.dataset.loaded = '1';
		}, function (e) {
			RG.showError(e);
		});
	}

	RG.start(function () {
		return load().then(function () {
			RG.every(load, 10000);
		});
	});
})();
