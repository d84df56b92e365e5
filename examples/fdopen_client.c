/* fdopen_client HOST PORT LINE: connects over TCP, wraps the socket in a
 * FILE* with fdopen, sends LINE with fputs and prints the line that comes
 * back (fgets). Shows stdio streams working on a ustack socket. */
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: %s HOST PORT LINE\n", argv[0]);
    return 2;
  }
  struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM}, *ai;
  int rc = getaddrinfo(argv[1], argv[2], &hints, &ai);
  if (rc) {
    fprintf(stderr, "getaddrinfo: %s\n", gai_strerror(rc));
    return 1;
  }
  int fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
  if (fd < 0 || connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
    perror("connect");
    return 1;
  }
  freeaddrinfo(ai);
  FILE *f = fdopen(fd, "r+");
  if (!f) {
    perror("fdopen");
    return 1;
  }
  char line[1024];
  if (fprintf(f, "%s\n", argv[3]) < 0 || fflush(f) != 0) {
    perror("fputs");
    return 1;
  }
  if (!fgets(line, sizeof line, f)) {
    fprintf(stderr, "fgets: %s\n", ferror(f) ? "error" : "end of stream");
    return 1;
  }
  fputs(line, stdout);
  fclose(f);
  return 0;
}
