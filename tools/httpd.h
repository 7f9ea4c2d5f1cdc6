#ifndef SYNACK_HTTPD_H
#define SYNACK_HTTPD_H
#endif
