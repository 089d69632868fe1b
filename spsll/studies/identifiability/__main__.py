from spsll.studies.identifiability.study import main

if __name__ == "__main__":
    main()
