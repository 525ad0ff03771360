from liveloom.server import X
def main():
    print("ok", X)
