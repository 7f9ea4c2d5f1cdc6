/* Placeholder until the HTTP server lands. */
#include "httpd.h"
