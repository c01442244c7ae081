"""A gRPC server for bench/grpc.sh: service t.S, method U answers every
unary call with the bytes it got (generic handler, no protoc needed).
Usage: /usr/bin/python3 bench/grpc_backend.py PORT"""
import sys
from concurrent import futures

import grpc


def echo(request, context):
    return request


def main():
    handler = grpc.method_handlers_generic_handler(
        "t.S", {"U": grpc.unary_unary_rpc_method_handler(echo)})
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
    server.add_generic_rpc_handlers((handler,))
    server.add_insecure_port(f"127.0.0.1:{sys.argv[1]}")
    server.start()
    server.wait_for_termination()


if __name__ == "__main__":
    main()
