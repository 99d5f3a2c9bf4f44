/*
 * peers: the bench's peer-systems phase (BENCH_PEERS=1, BENCH_ONLY=peersys): Mosquitto 2
 * and two Postfix instances measured on this machine in the same run, and their rows in
 * the closing table beside rogatory's throughput. Never leaves a daemon running and
 * never touches the system's own services or configuration.
 */
#ifndef ROGATORY_PEERS_H
#define ROGATORY_PEERS_H

#include <stdbool.h>

#include <jansson.h>

#include "bench.h"

/* Installs (bench/peers.sh install) and measures both peers when BENCH_PEERS=1 and
 * `wanted`; otherwise, and for a peer whose install, start or delivery failed, records
 * why it was not measured (peers_*_note). A peer that delivered fewer messages than were
 * sent is reported as a failure, never as a rate. */
void peers_run(struct bench *b, bool wanted);

/* The table's rows: each peer's rate, and rogatory's throughput against it (ratio =
 * rogatory / peer); "not measured (...)" where there is no figure. Also sets
 * peers_ratio_mosquitto and peers_ratio_postfix when both sides were measured. */
void peers_table(struct bench *b, json_t *arr);

#endif
