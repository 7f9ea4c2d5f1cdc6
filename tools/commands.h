/* The subcommands of `synack`, one per file: each parses its arguments, calls an app
 * (apps/) or an engine of the test harness (tests/harness/), and returns the exit status
 * (0 success, 1 failure, 2 bad usage). */
#ifndef SYNACK_COMMANDS_H
#define SYNACK_COMMANDS_H

int cmd_demo(int argc, char **argv);    /* demo.c */
int cmd_attack(int argc, char **argv);  /* attack_cmd.c: `synack demo --syn-flood`, `--blind` */
int cmd_torture(int argc, char **argv); /* torture_cmd.c */
int cmd_cat(int argc, char **argv);     /* cat.c */
int cmd_http(int argc, char **argv);    /* http.c */
int cmd_run(int argc, char **argv);     /* run.c: `synack run -- PROGRAM` */
int cmd_trace(int argc, char **argv);   /* trace.c: `synack trace FILE` */
int cmd_ss(int argc, char **argv);      /* ss.c: `synack ss`, the sockets of running ones */

#endif
